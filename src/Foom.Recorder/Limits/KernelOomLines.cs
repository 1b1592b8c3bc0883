using System.Globalization;
using System.Text.RegularExpressions;

namespace Foom.Recorder.Limits;

/// <summary>A kernel log line of the OOM killer (mm/oom_kill.c, mm/memcontrol.c).</summary>
public abstract record OomLine(string Text);

/// <summary>"python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0": who ran into the limit (not necessarily the victim).</summary>
public sealed record OomInvoked(string Text, string Task, int? OomScoreAdj) : OomLine(Text);

/// <summary>"oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/g,task_memcg=/g,task=NAME,pid=N,uid=N": which limit, and the victim's group.</summary>
public sealed record OomConstraint(string Text, string Constraint, string? OomMemcg, string? TaskMemcg, string Task, int Pid, long? Uid) : OomLine(Text);

/// <summary>
/// "Memory cgroup out of memory: Killed process N (NAME) total-vm:NkB, anon-rss:NkB, file-rss:NkB,
/// shmem-rss:NkB, UID:N pgtables:NkB oom_score_adj:N" (global OOM: "Out of memory: ..."): the kill itself.
/// </summary>
public sealed record OomKilled(string Text, string? Scope, int Pid, string Task, long TotalVmKilobytes, long AnonRssKilobytes,
    long FileRssKilobytes, long ShmemRssKilobytes, long? Uid, long? PageTablesKilobytes, int? OomScoreAdj) : OomLine(Text)
{
    /// <summary>True for a kill at a memory cgroup's limit, false for the machine running out.</summary>
    public bool InMemoryCgroup => Scope?.StartsWith("Memory cgroup", StringComparison.Ordinal) == true;
}

/// <summary>"memory: usage 32768kB, limit 32768kB, failcnt 240" (also memory+swap:, kmem:): the group's state at the kill.</summary>
public sealed record OomGroupUsage(string Text, string Counter, long UsageKilobytes, long LimitKilobytes, long FailCount) : OomLine(Text);

/// <summary>"oom_reaper: reaped process N (NAME), now anon-rss:0kB, ...": the victim's memory was taken back.</summary>
public sealed record OomReaped(string Text, int Pid, string Task) : OomLine(Text);

/// <summary>Recognizes the OOM killer's lines among kernel log messages.</summary>
public static partial class KernelOomLines
{
    public static OomLine? Parse(string message)
    {
        if (message.Contains("Killed process", StringComparison.Ordinal) && KilledPattern().Match(message) is { Success: true } killed)
            return new OomKilled(message,
                killed.Groups["scope"].Success ? killed.Groups["scope"].Value : null,
                Int(killed.Groups["pid"].Value), killed.Groups["task"].Value,
                Long(killed.Groups["vm"].Value), Long(killed.Groups["anon"].Value), Long(killed.Groups["file"].Value),
                Long(killed.Groups["shmem"].Value),
                killed.Groups["uid"].Success ? Long(killed.Groups["uid"].Value) : null,
                killed.Groups["pgtables"].Success ? Long(killed.Groups["pgtables"].Value) : null,
                killed.Groups["adj"].Success ? Int(killed.Groups["adj"].Value) : null);

        if (message.StartsWith("oom-kill:", StringComparison.Ordinal) && ConstraintPattern().Match(message) is { Success: true } constraint)
            return new OomConstraint(message, constraint.Groups["constraint"].Value,
                Field(message, "oom_memcg="), Field(message, "task_memcg="),
                constraint.Groups["task"].Value, Int(constraint.Groups["pid"].Value),
                constraint.Groups["uid"].Success ? Long(constraint.Groups["uid"].Value) : null);

        if (message.Contains(" invoked oom-killer:", StringComparison.Ordinal) && InvokedPattern().Match(message) is { Success: true } invoked)
            return new OomInvoked(message, invoked.Groups["task"].Value,
                invoked.Groups["adj"].Success ? Int(invoked.Groups["adj"].Value) : null);

        if (UsagePattern().Match(message) is { Success: true } usage)
            return new OomGroupUsage(message, usage.Groups["counter"].Value, Long(usage.Groups["usage"].Value),
                Long(usage.Groups["limit"].Value), Long(usage.Groups["failcnt"].Value));

        if (message.StartsWith("oom_reaper:", StringComparison.Ordinal) && ReapedPattern().Match(message) is { Success: true } reaped)
            return new OomReaped(message, Int(reaped.Groups["pid"].Value), reaped.Groups["task"].Value);

        return null;
    }

    // Kernels before 4.19 printed the kill without a scope and without UID/pgtables/oom_score_adj;
    // the task name sits in parentheses and may itself hold any character.
    [GeneratedRegex(@"^(?:(?<scope>[^:]+): )?Killed process (?<pid>\d{1,9}) \((?<task>.*)\) total-vm:(?<vm>\d{1,18})kB, anon-rss:(?<anon>\d{1,18})kB, file-rss:(?<file>\d{1,18})kB, shmem-rss:(?<shmem>\d{1,18})kB(?:,? UID:(?<uid>\d{1,10}))?(?: pgtables:(?<pgtables>\d{1,18})kB)?(?: oom_score_adj:(?<adj>-?\d{1,4}))?")]
    private static partial Regex KilledPattern();

    [GeneratedRegex(@"^oom-kill:constraint=(?<constraint>[A-Z_]+),.*?task=(?<task>.*),pid=(?<pid>\d{1,9})(?:,uid=(?<uid>\d{1,10}))?\s*$")]
    private static partial Regex ConstraintPattern();

    [GeneratedRegex(@"^(?<task>.+?) invoked oom-killer: .*?(?:oom_score_adj=(?<adj>-?\d{1,4}))?\s*$")]
    private static partial Regex InvokedPattern();

    [GeneratedRegex(@"^(?<counter>memory|memory\+swap|kmem|swap): usage (?<usage>\d{1,18})kB, limit (?<limit>\d{1,18})kB, failcnt (?<failcnt>\d{1,18})\s*$")]
    private static partial Regex UsagePattern();

    [GeneratedRegex(@"^oom_reaper: reaped process (?<pid>\d{1,9}) \((?<task>.*)\), now ")]
    private static partial Regex ReapedPattern();

    /// <summary>The value after "name=" up to the next comma, in an oom-kill: line.</summary>
    private static string? Field(string line, string name)
    {
        var start = line.IndexOf("," + name, StringComparison.Ordinal);
        if (start < 0) return null;
        start += name.Length + 1;
        var end = line.IndexOf(',', start);
        return end < 0 ? line[start..] : line[start..end];
    }

    private static int Int(string text) => int.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static long Long(string text) => long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
