using System.Text;
using Foom.Recorder.Launch;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Recording;

/// <summary>
/// A process of the run seen in /proc that had not claimed a ring (yet): what is known of it, and
/// why it may not be recorded, read at each sighting while it runs (its exec can change both). Only
/// the ones that never claimed a ring by the run's end are named in the report.
/// </summary>
internal sealed class ProcessSighting(int pid, int parentPid, long firstSeen)
{
    public int Pid { get; } = pid;
    public int ParentPid { get; } = parentPid;
    public long FirstSeen { get; } = firstSeen;
    public long LastSeen { get; private set; } = firstSeen;
    public List<string> Command { get; private set; } = [];
    public long? LastRss { get; private set; }

    /// <summary>The reason read at the last sighting; null when /proc showed none.</summary>
    public string? WhyNotRecorded { get; private set; }

    /// <param name="recording">The pid records into a ring: only a reason its current image cannot have the hook counts (a fork is no reason then).</param>
    public void Look(long now, bool recording = false)
    {
        LastSeen = now;
        if (ProcessTreeRecorder.ResidentBytes(Pid) is { } rss) LastRss = rss;
        if (ReadCommand() is { Count: > 0 } command) Command = command;
        WhyNotRecorded = Reason(recording) ?? WhyNotRecorded;
    }

    private string? Reason(bool recording)
    {
        var executable = Link($"/proc/{Pid}/exe");
        if (Ids("Uid:") is { } uids && uids[0] != uids[1] || Ids("Gid:") is { } gids && gids[0] != gids[1])
            return $"set-user-ID or set-group-ID program{Of(executable)}: the dynamic loader ignores LD_PRELOAD for it";
        if (executable is not null && ProgramFacts.IsStaticallyLinked(executable))
            return $"statically linked{Of(executable)}: the hook cannot load into it";
        if (Environment() is { } environment)
        {
            if (!environment.Any(v => v.StartsWith("FOOM_RING=", StringComparison.Ordinal)))
                return "its environment has no FOOM_RING (its parent cleared or replaced the environment)";
            if (!environment.Any(v => v.StartsWith("LD_PRELOAD=", StringComparison.Ordinal) && v.Contains("libfoomhook", StringComparison.Ordinal)))
                return "its environment's LD_PRELOAD does not name the hook (its parent cleared or replaced it)";
        }
        if (recording) return null;
        var parentExecutable = Link($"/proc/{ParentPid}/exe");
        if (executable is not null && executable == parentExecutable)
            return $"a fork of pid {ParentPid} that had not exec'd when last seen: fork children are recorded from their exec (docs/architecture.md)";
        return null;
    }

    private static string Of(string? executable) => executable is null ? "" : $" ({executable})";

    private List<string>? ReadCommand()
    {
        try
        {
            var text = Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{Pid}/cmdline"));
            return [.. text.Split('\0', StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private string[]? Environment()
    {
        try
        {
            return Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{Pid}/environ")).Split('\0');
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The real and effective ids of a "Uid:" or "Gid:" line of /proc/PID/status.</summary>
    private long[]? Ids(string field)
    {
        try
        {
            var line = File.ReadLines($"/proc/{Pid}/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            var parts = line?[field.Length..].Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries);
            return parts is { Length: >= 2 } ? [long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)] : null;
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    private static string? Link(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
