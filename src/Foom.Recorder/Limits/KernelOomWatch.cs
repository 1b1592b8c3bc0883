using System.Globalization;

namespace Foom.Recorder.Limits;

/// <summary>
/// One OOM kill as the kernel logged it: the kill line with the victim's sizes, and the lines
/// around it that say which limit was hit (constraint, the group's usage) and who hit it.
/// </summary>
public sealed record KernelOomKill(
    OomKilled Killed,
    OomConstraint? Constraint,
    OomInvoked? Invoked,
    IReadOnlyList<OomGroupUsage> GroupUsage,
    long Sequence,
    long TimestampMicroseconds)
{
    /// <summary>Short lines for an exit verdict's evidence, the kernel's own words first.</summary>
    public IEnumerable<string> Evidence()
    {
        yield return "kernel: " + Killed.Text;
        if (Constraint is not null)
            yield return $"kernel: constraint {Constraint.Constraint}" +
                         (Constraint.OomMemcg is { } memcg ? $", limit of {memcg}" : "") +
                         (Constraint.TaskMemcg is { } taskMemcg ? $", victim in {taskMemcg}" : "");
        foreach (var usage in GroupUsage)
            yield return string.Create(CultureInfo.InvariantCulture,
                $"kernel: {usage.Counter} usage {usage.UsageKilobytes} kB of limit {usage.LimitKilobytes} kB, failcnt {usage.FailCount}");
        if (Invoked is not null && Invoked.Task != Killed.Task)
            yield return $"kernel: {Invoked.Task} ran into the limit (invoked oom-killer)";
    }
}

/// <summary>
/// Follows the kernel log during a run and keeps the OOM kills it reports. Opened at the log's
/// end when the run starts; <see cref="Poll"/> reads what is new (call it while sampling and
/// once more after the program died). Where /dev/kmsg cannot be read, <see cref="Problem"/> says
/// so, and every verdict carries that sentence instead of kernel evidence.
/// </summary>
public sealed class KernelOomWatch : IDisposable
{
    private const int MaximumKillsKept = 1000;
    private const int MaximumUsageLinesKept = 8;

    private readonly KernelLog? _log;
    private readonly List<KernelOomKill> _kills = [];
    private readonly List<OomGroupUsage> _usageSinceInvoked = [];
    private readonly Dictionary<int, OomConstraint> _constraints = [];
    private OomInvoked? _invoked;

    private KernelOomWatch(KernelLog? log, string? problem) => (_log, Problem) = (log, problem);

    /// <summary>Why the kernel log is not being read, or null when it is.</summary>
    public string? Problem { get; }

    public bool Readable => _log is not null;

    public IReadOnlyList<KernelOomKill> Kills => _kills;

    public long OverwrittenGaps => _log?.OverwrittenGaps ?? 0;

    public static KernelOomWatch Start(string path = KernelLog.DefaultPath)
    {
        var opening = KernelLog.OpenAtEnd(path);
        return new KernelOomWatch(opening.Log, opening.Problem);
    }

    /// <summary>Reads the records the kernel wrote since the last poll. Thread-safe.</summary>
    public void Poll()
    {
        if (_log is null) return;
        lock (_kills)
        {
            foreach (var record in _log.ReadAvailable()) TakeLocked(record);
        }
    }

    /// <summary>Feeds one record (what <see cref="Poll"/> does for each; public for replaying saved logs).</summary>
    public void Take(KernelLogRecord record)
    {
        lock (_kills) TakeLocked(record);
    }

    private void TakeLocked(KernelLogRecord record)
    {
        switch (KernelOomLines.Parse(record.Message))
        {
            case OomInvoked invoked:
                _invoked = invoked;
                _usageSinceInvoked.Clear();
                break;
            case OomGroupUsage usage when _usageSinceInvoked.Count < MaximumUsageLinesKept:
                _usageSinceInvoked.Add(usage);
                break;
            case OomConstraint constraint:
                _constraints[constraint.Pid] = constraint;
                break;
            case OomKilled killed:
                _constraints.Remove(killed.Pid, out var matching);
                if (_kills.Count == MaximumKillsKept) _kills.RemoveAt(0);
                _kills.Add(new KernelOomKill(killed, matching, _invoked, [.. _usageSinceInvoked], record.Sequence, record.TimestampMicroseconds));
                _invoked = null;
                _usageSinceInvoked.Clear();
                break;
        }
    }

    /// <summary>The kill of <paramref name="pid"/>, if the kernel logged one since the watch started.</summary>
    public KernelOomKill? FindKill(int pid)
    {
        lock (_kills)
        {
            return _kills.LastOrDefault(kill => kill.Killed.Pid == pid);
        }
    }

    /// <summary>
    /// Polls until the kill of <paramref name="pid"/> shows up or <paramref name="grace"/> passes:
    /// the kernel sends SIGKILL before it prints the line, so a fast reaper can see the death first.
    /// </summary>
    public KernelOomKill? WaitForKill(int pid, TimeSpan grace)
    {
        var deadline = DateTime.UtcNow + grace;
        while (true)
        {
            Poll();
            if (FindKill(pid) is { } kill) return kill;
            if (_log is null || DateTime.UtcNow >= deadline) return null;
            Thread.Sleep(20);
        }
    }

    /// <summary>Kills of other processes in the group at <paramref name="cgroupPath"/> (the program's children).</summary>
    public IReadOnlyList<KernelOomKill> KillsInGroup(string cgroupPath, int exceptPid)
    {
        lock (_kills)
        {
            return _kills.Where(kill => kill.Killed.Pid != exceptPid && kill.Constraint?.TaskMemcg == cgroupPath).ToList();
        }
    }

    public void Dispose() => _log?.Dispose();
}
