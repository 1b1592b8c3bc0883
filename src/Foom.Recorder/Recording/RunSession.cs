using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Foom.Recorder.Exits;
using Foom.Recorder.Launch;
using Foom.Managed;
using Foom.Recorder.Limits;
using Foom.Ring;
using Foom.Storage;
using Foom.Storage.Managed;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Recording;

/// <summary>The end of one `foom run`.</summary>
public sealed record RunOutcome(int ExitStatus, string? SessionDirectory, SessionInfo? Info, ExitVerdict? Verdict,
    long LiveBytes, long LiveCount, string? RecordingProblem)
{
    /// <summary>The report made of this run (its session's report.json), when it ended in a foreground OOM or a watchdog kill.</summary>
    public string? ReportPath { get; init; }
}

/// <summary>
/// One `foom run`: settles the previous unfinished session of the app (its verdict inferred by
/// elimination), creates the session directory with its tables and ring, starts the program
/// under the hook (in a memory cgroup when --limit asks), drains events and watches the
/// footprint while it runs, and writes the verdict when it ends. The program's own output is
/// untouched; `foom run` returns its status.
/// </summary>
public static class RunSession
{
    /// <summary>Foom could not create what it records into (sysexits' EX_CANTCREAT).</summary>
    public const int CannotCreateStatus = 73;

    public static async Task<RunOutcome> RunAsync(RunOptions options, TextWriter diagnostics)
    {
        ResolvedProgram program;
        try
        {
            program = ProgramResolver.Resolve(options.Command[0]);
        }
        catch (ProgramNotRunnableException problem)
        {
            diagnostics.WriteLine($"foom run: {problem.Message}");
            return new RunOutcome(problem.ExitStatus, null, null, null, 0, 0, problem.Message);
        }

        var appId = options.AppId ?? AppIdFor(AppIdentity.Name(program.Path, options.Command));
        var sessionId = NewSessionId();
        var startTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var (mainPath, mainId) = ProgramFacts.MainBinary(program.Path, options.Command);
        var launch = new LaunchContext(sessionId, MachineFacts.BootId(), MachineFacts.KernelRelease(), mainId, startTime);
        // The app's earlier runs whose recorder died with them are judged by elimination, beside
        // the session's creation and the program's start (the second core is idle then).
        var judging = Task.Run(() => PreviousRuns.Judge(options.Data, appId, launch, ReadMarks));
        var info = new SessionInfo
        {
            SessionId = sessionId,
            AppId = appId,
            RecorderPid = Environment.ProcessId,
            Command = [.. options.Command],
            StartTime = launch.TimeMilliseconds,
            Host = Environment.MachineName,
            BootId = launch.BootId,
            KernelRelease = launch.KernelRelease,
            OsVersion = ProgramFacts.OsVersion(),
            MainBinary = mainPath,
            MainBuildId = launch.MainBuildId,
            WatchdogSeconds = options.Watchdog?.TotalSeconds,
            AppVersion = options.AppVersion,
            UserId = options.UserId,
            SampleBytes = options.SampleBytes > 0 ? options.SampleBytes : null,
        };
        string directory;
        try
        {
            var sessions = options.Data.SessionsDirectory(appId);
            Directory.CreateDirectory(sessions);
            directory = Path.Combine(sessions, sessionId);
            // The directory appears with its session.json (made aside, then renamed into place), so
            // that a recorder killed at any later instant leaves a session that is listed, reported
            // and judged. Not flushed to disk: it guards against a kill; the complete one after the
            // program's start is flushed.
            var staging = Path.Combine(sessions, "." + sessionId);
            Directory.CreateDirectory(staging);
            SessionInfoFile.Write(staging, info, durable: false);
            Directory.Move(staging, directory);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            foreach (var earlier in (await judging.ConfigureAwait(false)).Problems) diagnostics.WriteLine($"foom run: {earlier}");
            diagnostics.WriteLine($"foom run: cannot write sessions under {options.Data.Root}: {problem.Message}");
            return new RunOutcome(CannotCreateStatus, null, null, null, 0, 0, problem.Message);
        }

        // Reports of earlier runs, --keep and the upload go on beside the program, on their own thread.
        using var reports = new RunReports(options, appId, directory, diagnostics);
        var outcome = await RecordAsync(options, diagnostics, program, info, launch, directory, reports, judging).ConfigureAwait(false);
        // When the program did not start, the launch is judged here.
        reports.LaunchJudged(await judging.ConfigureAwait(false), launch);
        // The session's tables are closed now, so its report reads a finished session.
        RunTiming.Mark("tables-closed");
        var reportPath = await reports.FinishAsync(outcome.Info).ConfigureAwait(false);
        RunTiming.Mark("reports-done");
        return outcome with { ReportPath = reportPath };
    }

    /// <summary>Records the run into its session directory until the program has ended and its verdict is written.</summary>
    private static async Task<RunOutcome> RecordAsync(RunOptions options, TextWriter diagnostics, ResolvedProgram program, SessionInfo info,
        LaunchContext launch, string directory, RunReports reports, Task<PreviousRunsResult> judging)
    {
        var sessionId = info.SessionId;
        SessionTables tables;
        EventRing ring;
        try
        {
            tables = SessionTables.Create(directory);
            ring = EventRing.Create(Path.Combine(directory, EventRing.SessionFileName), sampleBytes: options.SampleBytes);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            diagnostics.WriteLine($"foom run: cannot create the session files in {directory}: {problem.Message}");
            return new RunOutcome(CannotCreateStatus, directory, null, null, 0, 0, problem.Message);
        }
        RunTiming.Mark("session-created");
        using var ownedTables = tables;
        using var ownedRing = ring;
        using var footprints = tables.CreateLog<FootprintRecord>(FootprintLog.Name, FootprintLog.Capacity, FootprintLog.TypeTag);

        var notes = new List<string>();
        var staticBinary = ProgramFacts.IsStaticallyLinked(program.Path);
        if (staticBinary)
            diagnostics.WriteLine($"foom run: {program.Path} is statically linked, so the hook cannot load into it; " +
                                  "running it without recording allocations (footprint, limit and exit reason are still watched)");

        OwnedMemoryCgroup? group = null;
        string? whyFoomEnforces = null;
        if (options.LimitBytes is { } limit)
        {
            if (options.EnforceLimitInFoom) whyFoomEnforces = "--limit-by foom";
            else
            {
                var creation = OwnedMemoryCgroup.Create("foom-" + sessionId, limit, nearPid: Environment.ProcessId);
                group = creation.Group;
                if (group is null)
                {
                    whyFoomEnforces = creation.WhyNot;
                    diagnostics.WriteLine($"foom run: {creation.WhyNot}; Foom enforces the limit itself (SIGKILL when the footprint crosses it)");
                }
            }
        }

        try
        {
            var environment = TargetEnvironment(ring, hook: !staticBinary);
            // A .NET runtime that dies writes its crash report into the session (others ignore this).
            var dotnetSettings = DotnetCrashSettings.For(directory, environment, options.LimitBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
                DotnetCrashSettings.FreeBytes(directory), out var dotnetSettingsLeftAlone, out var noDumpAsked);
            foreach (var (name, value) in dotnetSettings) environment[name] = value;
            var argv = new List<string> { options.Command[0] };
            argv.AddRange(options.Command.Skip(1));
            var (executable, startArgv) = group is null ? (program.Path, (IReadOnlyList<string>)argv) : group.WrapInTrampoline(program.Path, argv);

            using var kernel = KernelOomWatch.Start();
            // The run's other processes get rings of their own; the first spares exist before the program starts.
            using var tree = staticBinary ? null : StartProcessTree(ring, directory, info, kernel, group, notes, diagnostics);
            // Installed before the program starts, so no signal meant for it can end Foom first.
            var forwarded = new StrongBox<bool>();
            var started = new TaskCompletionSource<TargetProcess>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Forward(context, started.Task, 15, forwarded));
            using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => Forward(context, started.Task, 1, forwarded));
            // Ctrl-C reaches the program through the terminal already; Foom stays to record its end.
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => context.Cancel = true);

            // Registered before the program starts: one killed within milliseconds still has its warnings.
            using var kernelWarnings = MemoryWarningSources.Create(group, Math.Max(1, options.LimitBytes ?? 1), options.WarnAt);
            // The limit is known before the program starts (its group is Foom's, or the one it
            // inherits from Foom), so a run killed from here on is judged against it.
            info.Limit = new TargetMemory(Environment.ProcessId, group).ResolveLimit(whyFoomEnforces is null ? null : options.LimitBytes);
            SessionInfoFile.Write(directory, info, durable: false);
            TargetProcess target;
            try
            {
                target = TargetProcess.Start(executable, startArgv, environment);
                started.SetResult(target);
            }
            catch (TargetStartException problem)
            {
                diagnostics.WriteLine($"foom run: {problem.Message}");
                info.End = new ExitVerdict(ExitReason.Unknown, ExitHow.Observed, [$"the program could not be started: {problem.Message}"])
                    .ToEnd(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ProgramResolver.NotExecutableStatus, null);
                SessionInfoFile.Write(directory, info);
                return new RunOutcome(ProgramResolver.NotExecutableStatus, directory, null, null, 0, 0, problem.Message);
            }

            RunTiming.Mark("program-started");
            tree?.Start(target.Pid);
            // The drain first: a busy program fills the ring within milliseconds, and then waits
            // for room, so it would wait out everything below.
            var applier = new EventApplier(tables);
            var drain = new RingDrain(ring, applier);
            drain.Start();
            reports.LaunchJudged(await judging.ConfigureAwait(false), launch);
            RunTiming.Mark("earlier-runs-judged");

            var memory = new TargetMemory(target.Pid, group, () => (long)Volatile.Read(ref ring.Header.TargetMappedBytes));
            info.Pid = target.Pid;
            if (memory.ReadOomScore() is { } score)
            {
                info.OomScore = score.Score;
                info.OomScoreAdj = score.Adjust;
            }
            // Once the program runs: its SHA-256 loads and sets up OpenSSL, some 15 ms of CPU the
            // program need not wait for.
            info.DeviceId = MachineFacts.DeviceId();
            SessionInfoFile.Write(directory, info);

            var monitor = new RunMonitor(options, target, memory, ring, info, directory, footprints, kernel, kernelWarnings, whyFoomEnforces, reports.MemoryWarned);
            // Resident bytes per mapping and the perf map, kept in the session for a report made after the death.
            using var snapshots = TargetSnapshots.Start(ring, target.Pid, directory, DateTimeOffset.FromUnixTimeMilliseconds(launch.TimeMilliseconds).UtcDateTime);
            // A .NET program's managed heap, through its diagnostics port (nothing for other programs).
            await using var managed = ManagedRecorder.Start(target.Pid, directory, info.Limit?.Bytes, diagnostics);
            monitor.Managed = managed;
            monitor.SnapshotNow = () => reports.MemoryWarned(always: true);
            managed.OutOfMemoryThrown += monitor.OutOfMemoryThrown;
            reports.ProgramWatched();
            await monitor.WatchUntilExit().ConfigureAwait(false);
            // The group's own high-water mark catches a peak between two samples (a kill at the limit).
            if (group?.Group.ReadPeak() is { } groupPeak && groupPeak > (info.PeakFootprintBytes ?? 0)) info.PeakFootprintBytes = groupPeak;
            var status = await target.Exited.ConfigureAwait(false);
            RunTiming.Mark("program-ended");
            var deathTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            await drain.StopAfterTargetEnded().ConfigureAwait(false);
            var processes = tree is null ? [] : await tree.StopAsync().ConfigureAwait(false);
            RunTiming.Mark("events-applied");
            snapshots.Finish();
            // A perf map Foom asked for is Foom's to clean up once the session holds its copy:
            // /tmp would otherwise keep one file per .NET run.
            if (Environment.GetEnvironmentVariable("DOTNET_PerfMapEnabled") is null) TargetSnapshots.RemoveCopiedPerfMaps(target.Pid, directory);
            await managed.StopAsync().ConfigureAwait(false);
            var dotnetOutOfMemory = DotnetDeath(directory, status, dotnetSettingsLeftAlone, notes);
            // The heap at the death, from the dump the runtime wrote (read before the report is made).
            if (status.Signaled && dotnetSettingsLeftAlone is null) HeapDumpReader.Collect(directory, info.Limit?.Bytes, options.KeepDump, noDumpAsked);

            var death = ObservedDeath.From(status) with
            {
                KilledByFoom = monitor.FoomKill,
                SignalForwardedByFoom = forwarded.Value,
                GroupPath = group?.Group.Path,
                OomKillsInGroup = group?.ReadOomKillsSinceCreation(),
                KernelKill = status.Signaled && status.TermSignal == 9 ? kernel.WaitForKill(target.Pid, KernelLineGrace) : kernel.FindKill(target.Pid),
                OtherKillsInGroup = KillsOfOtherProcesses(kernel, group, target.Pid, tree),
                KernelLogProblem = kernel.Problem,
                Marks = AppMarks.FromRing(ring.ReadMarks(), monitor.DebuggerSeen),
                DotnetOutOfMemory = dotnetOutOfMemory,
                FailedAllocations = applier.Failures,
                LastFailedAllocation = applier.LastFailure,
                DeathTimeMilliseconds = deathTime,
                LastFootprintBytes = info.LastFootprintBytes,
                LimitBytes = info.Limit?.Bytes,
                DebuggerSeen = monitor.DebuggerSeen,
            };
            death = death with { QuitSenderName = death.Marks?.QuitSenderPid is { } sender ? ProcessName(sender) : null };
            var verdict = ExitClassifier.Observe(death);
            var counters = ring.ReadCounters();
            var recordingProblem = drain.Failure ?? (staticBinary ? "the program is statically linked, so the LD_PRELOAD hook could not load into it" : null);
            if (recordingProblem is not null) notes.Add(recordingProblem);
            if (snapshots.Problem is not null) notes.Add(snapshots.Problem);
            if (drain.AbandonedBytes > 0) notes.Add($"{drain.AbandonedBytes} bytes of events were reserved but never committed when the program died");
            info.DroppedEvents = (long)counters.DroppedEvents;
            info.End = verdict.ToEnd(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), status.ShellStatus, status.Signaled ? status.TermSignal : null);
            if (tree is not null) NoteProcesses(info, tree, processes, verdict, notes, tables.Live.HeapBytes + tables.Live.MappingBytes);
            info.RecordingNotes = notes.Count == 0 ? null : notes;
            SessionInfoFile.Write(directory, info);
            RunTiming.Mark("end-written");

            return new RunOutcome(status.ShellStatus, directory, info, verdict, tables.Live.HeapBytes + tables.Live.MappingBytes,
                tables.Live.Count, recordingProblem);
        }
        finally
        {
            if (group is not null)
            {
                var removal = group.Remove();
                if (!removal.Removed) diagnostics.WriteLine($"foom run: could not remove the memory cgroup {group.Group.Path}: {removal.Problem}");
            }
        }
    }

    /// <summary>
    /// The evidence of a .NET OutOfMemoryException death, when the program was .NET and died of a
    /// signal; what could not be read, or that the program kept its own dump settings, goes into the
    /// session's notes.
    /// </summary>
    private static DotnetOutOfMemory? DotnetDeath(string directory, WaitStatus status, string? settingsLeftAlone, List<string> notes)
    {
        if (settingsLeftAlone is not null && File.Exists(Path.Combine(directory, ManagedFiles.StatusFileName))) notes.Add(settingsLeftAlone);
        return status.Signaled ? DotnetDeathEvidence.Find(directory, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), notes) : null;
    }

    private static ProcessTreeRecorder? StartProcessTree(EventRing ring, string directory, SessionInfo info, KernelOomWatch kernel,
        OwnedMemoryCgroup? group, List<string> notes, TextWriter diagnostics)
    {
        try
        {
            var tree = new ProcessTreeRecorder(ring, directory, info, kernel, group?.Group);
            tree.Prepare();
            return tree;
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            var why = $"the run's other processes are not recorded: no spare rings could be made beside {ring.Path}: {problem.Message}";
            diagnostics.WriteLine($"foom run: {why}");
            notes.Add(why);
            return null;
        }
    }

    /// <summary>The kernel's kills of the run's processes other than the program: in its memory cgroup, and any recorded process wherever it ran.</summary>
    private static List<KernelOomKill> KillsOfOtherProcesses(KernelOomWatch kernel, OwnedMemoryCgroup? group, int programPid, ProcessTreeRecorder? tree)
    {
        kernel.Poll();
        var kills = group is null ? [] : kernel.KillsInGroup(group.Group.Path, programPid).ToList();
        foreach (var pid in tree?.RecordedPids ?? [])
            if (kernel.FindKill(pid) is { } kill && kills.All(k => k.Sequence != kill.Sequence)) kills.Add(kill);
        return kills;
    }

    /// <summary>The run's other processes into session.json, the victim's session named in the end, what could not be recorded in the notes.</summary>
    private static void NoteProcesses(SessionInfo info, ProcessTreeRecorder tree, List<ProcessEntry> processes, ExitVerdict verdict, List<string> notes,
        long programLiveBytes)
    {
        info.Processes = processes.Count > 0 ? processes : null;
        if (info.Processes is not null) info.ProgramLiveBytes = programLiveBytes;
        info.ProgramRssBytes = tree.ProgramRss?.Bytes;
        if (verdict.Victim is { } victim && info.End is { } end)
        {
            end.VictimSession = tree.SessionOf(victim.Killed.Pid);
            if (end.VictimSession is null)
                notes.Add($"the OOM killer's victim, pid {victim.Killed.Pid} ({victim.Killed.Task}), was not recorded: " +
                          (processes.FirstOrDefault(p => p.Pid == victim.Killed.Pid)?.NotRecorded ?? "it was never seen with a ring of its own"));
            var entry = processes.LastOrDefault(p => p.Pid == victim.Killed.Pid);
            if (entry is not null)
            {
                entry.RssBytes = ProcessTreeRecorder.ResidentBytes(victim);
                entry.RssTime = end.EndTime;
            }
        }
        foreach (var unrecorded in processes.Where(p => p.NotRecorded is not null))
            notes.Add($"pid {unrecorded.Pid} ({string.Join(' ', unrecorded.Command.Take(3))}): {unrecorded.NotRecorded}");
        info.ProcessesWithoutRing = tree.PoolExhausted > 0 ? tree.PoolExhausted : null;
        if (tree.PoolExhausted > 0)
            notes.Add($"{tree.PoolExhausted} process(es) of the run found no spare ring ready and were not recorded");
        if (tree.Problem is not null) notes.Add(tree.Problem);
    }

    /// <summary>How long to wait for the kernel's kill line after a SIGKILL death (it is logged asynchronously).</summary>
    private static readonly TimeSpan KernelLineGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>The marks the program left in an earlier session's ring file, for judging how that run ended.</summary>
    private static AppMarks? ReadMarks(string directory, SessionInfo session)
    {
        var path = Path.Combine(directory, EventRing.SessionFileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var ring = EventRing.Open(path);
            return AppMarks.FromRing(ring.ReadMarks());
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or RingFormatException)
        {
            return null;
        }
    }

    private static Dictionary<string, string> TargetEnvironment(EventRing ring, bool hook)
    {
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(entry => (string)entry.Key, entry => (string?)entry.Value ?? "", StringComparer.Ordinal);
        // .NET writes /tmp/perf-PID.map for its JIT code, so managed frames get names.
        environment["DOTNET_PerfMapEnabled"] = "1";
        if (!hook) return environment;
        foreach (var (name, value) in ring.TargetEnvironment())
        {
            environment[name] = name == "LD_PRELOAD" && environment.TryGetValue(name, out var existing) && existing.Length > 0
                ? value + ":" + existing
                : value;
        }
        return environment;
    }

    /// <summary>SIGTERM or SIGHUP sent to `foom run` is meant for the program: pass it on and stay to record the end.</summary>
    private static void Forward(PosixSignalContext context, Task<TargetProcess> target, int signal, StrongBox<bool> forwarded)
    {
        context.Cancel = true;
        forwarded.Value = true;
        // A signal that arrives before the program has started waits for it.
        target.ContinueWith(started => started.Result.Signal(signal), TaskScheduler.Default);
    }

    private static string? ProcessName(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>An app id from the app's name (<see cref="AppIdentity"/>), kept to the data directory's safe alphabet.</summary>
    public static string AppIdFor(string appName)
    {
        var name = Path.GetFileName(appName);
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray()).Trim('.');
        return safe.Length == 0 ? "app" : safe[..Math.Min(safe.Length, 128)];
    }

    /// <summary>Sortable by start time, unique across runs that start in the same millisecond.</summary>
    private static string NewSessionId() =>
        DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss.fff", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 3));
}
