using Foom.Report.Building;
using Foom.Report.Model;
using Foom.Ring;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Recording;

/// <summary>
/// The report of a session Foom recorded: its tables through <see cref="ReportBuilder"/>, with
/// what its event ring (ring.foom) says about the app's last scene and the events the hook lost.
/// The report stage does not know the ring; this is where the two meet, for `foom run` at a death
/// and `foom report SESSION_DIR`.
/// </summary>
public static class SessionReport
{
    /// <summary>
    /// The report of a session. A run whose verdict names another process of its group as the OOM
    /// killer's victim (docs/exit-reasons.md, "The victim rule") gets the victim's own report: its
    /// live memory and stacks, under the run's verdict, with the process tree.
    /// </summary>
    public static Report.Model.Report Build(string sessionDirectory, ReportBuildOptions? options = null)
    {
        var info = SessionInfoFile.Read(sessionDirectory).Info;
        var victim = info?.End?.VictimSession is { } relative ? Path.Combine(sessionDirectory, relative) : null;
        if (victim is null || !Directory.Exists(victim))
        {
            var report = ReportBuilder.Build(sessionDirectory, ReadMarks(sessionDirectory), options);
            if (info?.Processes is { Count: > 0 }) report.ProcessTree = ProcessTree(info, info.Pid, victim: false);
            return report;
        }
        var victimReport = ReportBuilder.Build(victim, ReadMarks(victim), options);
        var end = info!.End!;
        var head = victimReport.Head;
        head.ExitReason = end.ExitReason;
        head.ExitHow = end.How;
        head.ExitEvidence = [.. end.Evidence];
        victimReport.ProcessTree = ProcessTree(info, end.VictimPid ?? 0, victim: true);
        return victimReport;
    }

    /// <summary>The run's processes, the program first, with the chain of parents above <paramref name="pid"/>.</summary>
    private static ReportProcessTree ProcessTree(SessionInfo run, int pid, bool victim)
    {
        var processes = new List<ReportProcess>
        {
            new()
            {
                Pid = run.Pid,
                Command = [.. run.Command],
                ExitReason = run.End?.ExitReason,
                RssBytes = run.ProgramRssBytes,
                LiveBytes = run.ProgramLiveBytes,
            },
        };
        processes.AddRange(run.Processes!.Select(p => new ReportProcess
        {
            Pid = p.Pid,
            ParentPid = p.ParentPid,
            Command = [.. p.Command],
            Session = p.Session,
            NotRecorded = p.NotRecorded,
            ExitReason = p.ExitReason,
            RssBytes = p.RssBytes,
            RssTime = p.RssTime,
            LiveBytes = p.LiveBytes,
        }));
        var parents = new List<int>();
        var byPid = run.Processes!.GroupBy(p => p.Pid).ToDictionary(g => g.Key, g => g.Last().ParentPid);
        for (var at = pid; at != run.Pid && byPid.TryGetValue(at, out var parent) && parent != 0 && !parents.Contains(parent); at = parent)
            parents.Add(parent);
        var usage = run.End?.Evidence.Count > 0 ? GroupUsage(run.End.Evidence) : null;
        return new ReportProcessTree { Pid = pid, Victim = victim, Parents = parents, Processes = processes, GroupUsageBytes = usage, PoolExhausted = run.ProcessesWithoutRing ?? 0 };
    }

    /// <summary>"kernel: memory usage N kB of limit M kB, ..." of the kill's evidence, in bytes.</summary>
    private static long? GroupUsage(List<string> evidence)
    {
        foreach (var line in evidence)
        {
            const string prefix = "kernel: memory usage ";
            if (!line.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var number = line[prefix.Length..].Split(' ')[0];
            if (long.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var kilobytes)) return kilobytes * 1024;
        }
        return null;
    }

    /// <summary>The ring's marks; none when the session has no ring; a damaged ring gives a problem to note instead of failing the report.</summary>
    public static SessionMarks ReadMarks(string sessionDirectory)
    {
        var path = Path.Combine(sessionDirectory, EventRing.SessionFileName);
        if (!File.Exists(path)) return SessionMarks.None;
        try
        {
            using var ring = EventRing.Open(path);
            var marks = ring.ReadMarks();
            var counters = ring.ReadCounters();
            return new SessionMarks(marks.Scene, Count(counters.DroppedEvents), Stopped(marks, counters.Unrecorded));
        }
        catch (Exception e) when (e is RingFormatException or IOException or UnauthorizedAccessException)
        {
            return new SessionMarks(null, 0, null,
                $"{path} could not be read ({e.Message}): the scene, the count of dropped events and whether recording stopped early are unknown");
        }
    }

    private static ReportRecordingStopped? Stopped(RingMarks marks, UnrecordedEvents unrecorded)
    {
        if (marks.Stopped == StopReason.None && !unrecorded.Any) return null;
        return new ReportRecordingStopped
        {
            Reason = marks.Stopped switch
            {
                StopReason.RecorderGone => "recorder_gone",
                StopReason.ByRecorder => "by_recorder",
                StopReason.RingInvalid => "ring_invalid",
                var other => "stop_" + ((uint)other).ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            Time = marks.StoppedTime?.ToUnixTimeMilliseconds(),
            UnrecordedAllocations = Count(unrecorded.Allocations),
            UnrecordedAllocationBytes = Count(unrecorded.AllocationBytes),
            UnrecordedFrees = Count(unrecorded.Frees),
            UnrecordedMappings = Count(unrecorded.Mappings),
            UnrecordedMappingBytes = Count(unrecorded.MappingBytes),
            UnrecordedUnmappings = Count(unrecorded.Unmappings),
            UnrecordedUnmappingBytes = Count(unrecorded.UnmappingBytes),
        };
    }

    private static long Count(ulong value) => (long)Math.Min(value, long.MaxValue);
}
