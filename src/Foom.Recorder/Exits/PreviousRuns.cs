using Foom.Storage.Sessions;

namespace Foom.Recorder.Exits;

/// <summary>A session whose end was inferred at this launch.</summary>
public sealed record JudgedSession(string Directory, SessionInfo Info, ExitVerdict Verdict);

/// <param name="PreviousRun">The verdict about the app's most recent finished run, for the launch record; first_run when the app has none; null when every earlier run is still going.</param>
/// <param name="Judged">Sessions whose end was inferred now (and written into their session.json).</param>
/// <param name="StillRunning">Sessions left alone because their recorder or program is alive.</param>
/// <param name="Problems">Session files that could not be read or written, each naming the file.</param>
public sealed record PreviousRunsResult(
    ExitVerdict? PreviousRun,
    string? PreviousSessionId,
    IReadOnlyList<JudgedSession> Judged,
    IReadOnlyList<string> StillRunning,
    IReadOnlyList<string> Problems);

/// <summary>
/// At the launch of an app, infers why its earlier runs ended when their recorder died with
/// them: each such session gets an end record with how = inferred, written into its own
/// session.json (so `foom sessions` and the server see the verdict where the run is).
/// </summary>
public static class PreviousRuns
{
    /// <param name="launch">The launching session's facts (its id is skipped as "the current run").</param>
    /// <param name="readMarks">Reads the program's marks left in a session's ring file (directory, session); null when there are none.</param>
    public static PreviousRunsResult Judge(DataDirectory data, string appId, LaunchContext launch,
        Func<string, SessionInfo, AppMarks?>? readMarks = null)
    {
        var root = data.SessionsDirectory(appId);
        var problems = new List<string>();
        var sessions = new List<(string Directory, SessionInfo Info)>();
        if (Directory.Exists(root))
        {
            foreach (var directory in Directory.EnumerateDirectories(root))
            {
                // The launch's own session is being created beside this judgment.
                if (Path.GetFileName(directory) is var name && (name.StartsWith('.') || name == launch.SessionId)) continue;
                var read = SessionInfoFile.Read(directory);
                if (!read.Ok) problems.Add($"{read.Path}: {read.Problem}");
                else if (read.Info.SessionId != launch.SessionId) sessions.Add((directory, read.Info));
            }
        }
        if (sessions.Count == 0) return new PreviousRunsResult(ExitClassifier.FirstRun(), null, [], [], problems);

        sessions.Sort((a, b) => a.Info.StartTime != b.Info.StartTime
            ? a.Info.StartTime.CompareTo(b.Info.StartTime)
            : string.CompareOrdinal(a.Info.SessionId, b.Info.SessionId));

        var judged = new List<JudgedSession>();
        var running = new List<string>();
        for (var index = 0; index < sessions.Count; index++)
        {
            var (directory, info) = sessions[index];
            if (info.End is not null) continue;
            var marks = readMarks?.Invoke(directory, info);
            // A recorder killed as it started the program never wrote its pid; the hook did.
            if (info.Pid == 0 && marks?.Pid is { } attached) info.Pid = attached;
            if (SessionLiveness.IsRunning(info, launch.BootId))
            {
                running.Add(info.SessionId);
                continue;
            }
            // The run is compared with what the next launch saw: the session that followed it, else this launch.
            var next = index + 1 < sessions.Count ? sessions[index + 1].Info : null;
            var against = next is null ? launch : new LaunchContext(next.SessionId, next.BootId, next.KernelRelease, next.MainBuildId, next.StartTime);
            // session.json holds the footprint of the last warning; the log holds the last sample.
            var footprints = FootprintLog.Summarize(directory);
            if (footprints.Problem is not null) problems.Add(footprints.Problem);
            footprints.CompleteInto(info);
            // A .NET runtime that died of OutOfMemoryException left its crash report in the session.
            var dotnetOutOfMemory = marks?.CrashSignal is null ? null : DotnetDeathEvidence.Find(directory, LastAlive(info, marks), problems);
            var verdict = ExitClassifier.Infer(info, marks, against with { SessionId = launch.SessionId ?? against.SessionId }, dotnetOutOfMemory);
            var end = verdict.ToEnd(LastAlive(info, marks), verdict.Reason == ExitReason.Exit ? marks?.Exit?.Status : null, null, launch.SessionId);
            var (updated, ours) = Record(directory, end, info.Pid, footprints, problems);
            if (updated is null) continue;
            sessions[index] = (directory, updated);
            if (ours) judged.Add(new JudgedSession(directory, updated, verdict));
        }

        var previous = sessions.LastOrDefault(session => !running.Contains(session.Info.SessionId));
        if (previous.Info is null) return new PreviousRunsResult(null, null, judged, running, problems);
        var previousVerdict = previous.Info.End is { } previousEnd ? FromEnd(previousEnd) : null;
        return new PreviousRunsResult(previousVerdict, previous.Info.SessionId, judged, running, problems);
    }

    /// <summary>The verdict an end record holds.</summary>
    public static ExitVerdict FromEnd(SessionEnd end) => new(
        ExitReasonNames.TryParse(end.ExitReason, out var reason) ? reason : ExitReason.Unknown,
        end.How == ExitHow.Inferred.Name() ? ExitHow.Inferred : ExitHow.Observed,
        end.Evidence);

    /// <summary>
    /// Writes the end into session.json unless one appeared meanwhile (the recorder finished after
    /// all, or another launch judged it first), with what the judgment learnt besides: the pid the
    /// hook knew and the footprint log's last and peak samples.
    /// </summary>
    private static (SessionInfo? Info, bool Ours) Record(string directory, SessionEnd end, int pid, FootprintLogSummary footprints, List<string> problems)
    {
        var current = SessionInfoFile.Read(directory);
        if (!current.Ok)
        {
            problems.Add($"{current.Path}: {current.Problem}");
            return (null, false);
        }
        if (current.Info.End is not null) return (current.Info, false);
        if (current.Info.Pid == 0) current.Info.Pid = pid;
        footprints.CompleteInto(current.Info);
        current.Info.End = end;
        try
        {
            SessionInfoFile.Write(directory, current.Info);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{current.Path}: the inferred end could not be written: {problem.Message}");
        }
        return (current.Info, true);
    }

    /// <summary>The last moment the run was known alive: the end time an inferred record carries.</summary>
    private static long LastAlive(SessionInfo info, AppMarks? marks) =>
        new[]
        {
            info.StartTime, info.LastFootprintTime, marks?.LastHeartbeatMilliseconds, marks?.StateTimeMilliseconds,
            marks?.LastWarningTimeMilliseconds, marks?.Exit?.TimeMilliseconds, marks?.CrashTimeMilliseconds, marks?.QuitTimeMilliseconds,
        }.Where(time => time is not null).Max()!.Value;
}
