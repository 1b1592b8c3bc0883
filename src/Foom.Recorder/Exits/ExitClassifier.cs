using System.Globalization;
using Foom.Recorder.Launch;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Exits;

/// <summary>
/// Decides why a run ended. <see cref="Observe"/> judges a death the recorder saw (wait status
/// first, then OOM evidence); <see cref="Infer"/> judges, at a later launch, a run whose recorder
/// died too, by elimination in the order of WeChat's monitor (docs/design.md) and of the SDKs that follow Facebook's
/// method. docs/exit-reasons.md tables every rule.
/// </summary>
public static class ExitClassifier
{
    /// <summary>KSCrash 2's bar for "memory was critical": the last footprint at 75 % of the limit or more.</summary>
    public const double NearLimitFraction = 0.75;

    /// <summary>A foreground heartbeat older than this (when no --watchdog was given) counts as a stalled main loop.</summary>
    public static readonly TimeSpan DefaultStallThreshold = TimeSpan.FromSeconds(5);

    private const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8,
        SIGKILL = 9, SIGSEGV = 11, SIGTERM = 15, SIGXCPU = 24, SIGXFSZ = 25, SIGSYS = 31;

    /// <summary>Signals whose default action dumps core: a program error.</summary>
    private static readonly HashSet<int> CrashSignals = [SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS];

    /// <summary>Signals a person (or their terminal, or a service manager) sends to end a program.</summary>
    private static readonly HashSet<int> QuitSignals = [SIGHUP, SIGINT, SIGQUIT, SIGTERM];

    /// <summary>User-space OOM killers: their SIGTERM is a memory death, not a user's quit.</summary>
    private static readonly HashSet<string> UserSpaceOomKillers = ["earlyoom", "systemd-oomd", "oomd", "nohang", "low-memory-mon"];

    /// <summary>Judges a death the recorder witnessed.</summary>
    public static ExitVerdict Observe(ObservedDeath death)
    {
        var evidence = new List<string> { WaitEvidence(death) };
        var state = StateOf(death.Marks);

        if (death.KilledByFoom is { } foomKill)
        {
            evidence.Add(foomKill.Evidence);
            if (foomKill.IsWatchdog) return Verdict(ExitReason.Watchdog, ExitHow.Observed, evidence);
            evidence.Add(StateEvidence(death.Marks));
            return Verdict(OomFor(state), ExitHow.Observed, evidence);
        }

        if (death.Signal == SIGKILL && KernelKilled(death, evidence))
        {
            evidence.Add(StateEvidence(death.Marks));
            return Verdict(OomFor(state), ExitHow.Observed, evidence);
        }

        // The victim rule: the kernel killed another process of the run's group for memory (a
        // compiler's cc1plus, a pipeline's stage, a server a shell script started). Whatever the
        // program did after (exit with an error, carry on), the run's memory death is that kill.
        // (A program the kernel killed itself was judged above.)
        if (death.OtherKillsInGroup.Count > 0)
        {
            var victim = death.OtherKillsInGroup.MaxBy(kill => kill.Sequence)!;
            evidence.Add($"the OOM killer killed pid {victim.Killed.Pid} ({victim.Killed.Task}), a process of the run's group, not the program itself: the run's memory death is that process's");
            evidence.AddRange(victim.Evidence());
            if (death.OtherKillsInGroup.Count > 1)
                evidence.Add($"{death.OtherKillsInGroup.Count} processes of the group were killed: the last is named");
            if (death.Marks?.Exit is { } programExit) evidence.Add(ExitMarkEvidence(programExit));
            evidence.Add(StateEvidence(death.Marks));
            return Verdict(OomFor(state), ExitHow.Observed, evidence) with { Victim = victim };
        }

        if (death.Signal is { } fatal && CrashSignals.Contains(fatal) && death.DotnetOutOfMemory is { } outOfMemory)
        {
            evidence.AddRange(outOfMemory.Evidence);
            evidence.Add(StateEvidence(death.Marks));
            return Verdict(OomFor(state), ExitHow.Observed, evidence) with { Mechanism = Foom.Managed.DotnetOutOfMemory.Mechanism };
        }

        if ((death.Signal is { } failedCrash && CrashSignals.Contains(failedCrash) || death.ExitCode is not null and not 0)
            && AllocationFailure.Evidence(death) is { } failure)
        {
            evidence.AddRange(failure);
            evidence.Add(StateEvidence(death.Marks));
            return Verdict(OomFor(state), ExitHow.Observed, evidence) with { Mechanism = AllocationFailure.Mechanism };
        }

        if (death.Signal is { } crash && CrashSignals.Contains(crash))
        {
            if (death.Marks?.CrashAddress is { } address and not 0)
                evidence.Add(string.Create(CultureInfo.InvariantCulture, $"the hook caught {SignalNames.Name(crash)} at address 0x{address:x}"));
            return Verdict(ExitReason.Crash, ExitHow.Observed, evidence);
        }

        if (death.Signal is { } quit && QuitSignals.Contains(quit))
        {
            var sender = death.Marks?.QuitSenderPid is { } pid
                ? $"sent by pid {pid}" + (death.QuitSenderName is { } name ? $" ({name})" : "")
                : death.SignalForwardedByFoom ? "passed on by foom run, which received it" : "sent from outside Foom";
            evidence.Add($"{SignalNames.Name(quit)} {sender}");
            if (death.QuitSenderName is { } killer && UserSpaceOomKillers.Contains(killer))
            {
                evidence.Add($"{killer} is a user-space OOM killer: it ends programs when the machine runs low on memory");
                evidence.Add(StateEvidence(death.Marks));
                return Verdict(OomFor(state), ExitHow.Observed, evidence);
            }
            return Verdict(ExitReason.UserQuit, ExitHow.Observed, evidence);
        }

        if (death.ExitCode is not null)
        {
            if (death.Marks?.Exit is { } exit) evidence.Add(ExitMarkEvidence(exit));
            return Verdict(ExitReason.Exit, ExitHow.Observed, evidence);
        }

        if (death.Signal == SIGKILL)
        {
            // KernelKilled has already said what the OOM evidence showed (nothing).
            if (death.DebuggerSeen || death.Marks?.DebuggerSeen == true)
            {
                evidence.Add("a debugger was attached during the run: a SIGKILL then usually comes from it");
                return Verdict(ExitReason.Debugger, ExitHow.Observed, evidence);
            }
            evidence.Add("SIGKILL from outside Foom with no sign of an OOM kill: a kill -9, a test harness, or a user-space OOM killer that leaves no trace in the kernel log");
            if (NearLimitEvidence(death.LastFootprintBytes, death.LimitBytes, out var sentence)) evidence.Add(sentence);
            return Verdict(ExitReason.Unknown, ExitHow.Observed, evidence);
        }

        evidence.Add($"{SignalNames.Name(death.Signal ?? 0)} is neither a crash nor a quit signal");
        return Verdict(ExitReason.Unknown, ExitHow.Observed, evidence);
    }

    /// <summary>
    /// Judges, at a later launch, a run that has no end record (its recorder died with it): the
    /// first rule that holds wins. <paramref name="marks"/> are the program's marks from the
    /// old ring file (null when it is gone or unreadable); <paramref name="launch"/> is the
    /// launch that followed it (the next session's machine facts, else the current launch).
    /// </summary>
    public static ExitVerdict Infer(SessionInfo previous, AppMarks? marks, LaunchContext launch, Foom.Managed.DotnetOutOfMemory? dotnetOutOfMemory = null)
    {
        var evidence = new List<string>
        {
            "no end record: the recorder died with the program" +
            (launch.SessionId is { } id ? $"; inferred at the launch of session {id}" : "; inferred at a later launch"),
        };
        if (marks is null) evidence.Add("the program's marks (ring header) were not available");
        // PreviousRuns fills in the pid the hook knew; zero here means nobody recorded one.
        if (previous.Pid == 0) evidence.Add("the recorder died before the program started, or as it started it: no pid was recorded");

        if (marks?.DebuggerSeen == true || previous.DebuggerSeen == true)
        {
            evidence.Add("a debugger was attached during the run");
            return Verdict(ExitReason.Debugger, ExitHow.Inferred, evidence);
        }
        if (marks?.CrashSignal is { } crash)
        {
            evidence.Add($"the hook caught {SignalNames.Name(crash)} ({crash})" + At(marks.CrashTimeMilliseconds)
                         + (marks.CrashAddress is { } address and not 0 ? string.Create(CultureInfo.InvariantCulture, $", address 0x{address:x}") : ""));
            if (dotnetOutOfMemory is not null)
            {
                evidence.AddRange(dotnetOutOfMemory.Evidence);
                evidence.Add(StateEvidence(marks));
                return Verdict(OomFor(StateOf(marks)), ExitHow.Inferred, evidence) with { Mechanism = Foom.Managed.DotnetOutOfMemory.Mechanism };
            }
            return Verdict(ExitReason.Crash, ExitHow.Inferred, evidence);
        }
        if (marks?.QuitSignal is { } quit)
        {
            evidence.Add($"the hook saw {SignalNames.Name(quit)} ({quit}) arrive" +
                         (marks.QuitSenderPid is { } sender ? $" from pid {sender}" : "") + At(marks.QuitTimeMilliseconds));
            return Verdict(ExitReason.UserQuit, ExitHow.Inferred, evidence);
        }
        if (marks?.Exit is { } exit)
        {
            evidence.Add(ExitMarkEvidence(exit));
            return Verdict(ExitReason.Exit, ExitHow.Inferred, evidence);
        }
        if (Changed(previous.MainBuildId, launch.MainBuildId))
        {
            evidence.Add($"the main binary changed: build-id {Short(previous.MainBuildId!)} then {Short(launch.MainBuildId!)}");
            return Verdict(ExitReason.AppUpgraded, ExitHow.Inferred, evidence);
        }
        if (Changed(previous.KernelRelease, launch.KernelRelease))
        {
            evidence.Add($"the kernel changed: {previous.KernelRelease} then {launch.KernelRelease}");
            return Verdict(ExitReason.OsUpgraded, ExitHow.Inferred, evidence);
        }
        if (Changed(previous.BootId, launch.BootId))
        {
            evidence.Add($"the machine rebooted: boot_id {Short(previous.BootId!)} then {Short(launch.BootId!)}");
            return Verdict(ExitReason.OsReboot, ExitHow.Inferred, evidence);
        }

        var state = StateOf(marks);
        if (state is AppRunState.Background or AppRunState.Suspended)
        {
            evidence.Add(StateEvidence(marks));
            return Verdict(OomFor(state), ExitHow.Inferred, evidence);
        }

        if (HeartbeatStall(previous, marks) is { } stall)
        {
            evidence.Add(stall);
            return Verdict(ExitReason.Watchdog, ExitHow.Inferred, evidence);
        }

        evidence.Add(StateEvidence(marks));
        var lastFootprint = previous.LastFootprintBytes;
        var limit = previous.Limit?.Bytes;
        if (NearLimitEvidence(lastFootprint, limit, out var nearLimit))
        {
            evidence.Add(nearLimit);
            return Verdict(ExitReason.ForegroundOom, ExitHow.Inferred, evidence);
        }
        if (LateWarning(previous, marks) is { } warning)
        {
            evidence.Add(warning);
            return Verdict(ExitReason.ForegroundOom, ExitHow.Inferred, evidence);
        }
        if (lastFootprint is { } footprint && limit is > 0)
            evidence.Add(string.Create(CultureInfo.InvariantCulture,
                $"last footprint {ByteSize.Format(footprint)} was {100.0 * footprint / limit.Value:0}% of the limit {ByteSize.Format(limit.Value)}, below the {NearLimitFraction * 100:0}% that would make it an OOM"));
        else evidence.Add("no footprint and limit were recorded to tie the death to memory");
        return Verdict(ExitReason.Unknown, ExitHow.Inferred, evidence);
    }

    /// <summary>The verdict about the run before the first one of an app.</summary>
    public static ExitVerdict FirstRun() =>
        Verdict(ExitReason.FirstRun, ExitHow.Inferred, ["no earlier session of this app in the data directory"]);

    private static ExitVerdict Verdict(ExitReason reason, ExitHow how, List<string> evidence) => new(reason, how, evidence);

    private static bool KernelKilled(ObservedDeath death, List<string> evidence)
    {
        var found = false;
        if (death.KernelKill is { } kill)
        {
            evidence.AddRange(kill.Evidence());
            found = true;
        }
        if (death.OomKillsInGroup is { } kills)
        {
            var others = death.OtherKillsInGroup.Count;
            var ofOthers = others > 0 ? $", {others} of them of other processes of the group" : "";
            evidence.Add($"memory cgroup {death.GroupPath}: {kills} OOM kill{(kills == 1 ? "" : "s")} during the run (oom_kill counter){ofOthers}");
            // More kills than the kernel log explains by other processes: one of them was the program.
            if (kills > others) found = true;
        }
        else evidence.Add("no memory cgroup of its own: no oom_kill counter to read");
        if (death.KernelKill is null)
            evidence.Add(death.KernelLogProblem ?? "the kernel log has no OOM kill line for this pid");
        return found;
    }

    private static string WaitEvidence(ObservedDeath death) =>
        death.ExitCode is { } code ? $"exited with status {code}"
        : death.Signal is { } signal ? $"killed by {SignalNames.Name(signal)} ({signal})" + (death.CoreDumped ? ", core dumped" : "")
        : "the wait status is unknown";

    private static AppRunState StateOf(AppMarks? marks) => marks?.State ?? AppRunState.NotSet;

    private static ExitReason OomFor(AppRunState state) => state switch
    {
        AppRunState.Background => ExitReason.BackgroundOom,
        AppRunState.Suspended => ExitReason.SuspendedOom,
        _ => ExitReason.ForegroundOom,
    };

    private static string StateEvidence(AppMarks? marks) => marks?.State switch
    {
        AppRunState.Foreground or AppRunState.Background or AppRunState.Suspended =>
            $"state {marks.State.ToString().ToLowerInvariant()}" + (marks.StateTimeMilliseconds is { } since ? " since " + Time(since) : "")
            + (marks.Scene is { } scene ? $", scene {scene}" : ""),
        _ => "the program never set its state (foom_set_state): counted as foreground"
             + (marks?.Scene is { } onlyScene ? $", scene {onlyScene}" : ""),
    };

    private static string ExitMarkEvidence(ExitMark exit) =>
        $"the hook saw {exit.How}" + (exit.Status is { } status ? $" with status {status}" : "") + At(exit.TimeMilliseconds);

    private static string? HeartbeatStall(SessionInfo previous, AppMarks? marks)
    {
        if (marks?.LastHeartbeatMilliseconds is not { } heartbeat) return null;
        // The last moment the program was known alive: the recorder's last sample, or any mark it left later.
        var alive = new[] { previous.LastFootprintTime, marks.StateTimeMilliseconds, marks.LastWarningTimeMilliseconds, heartbeat }
            .Where(time => time is not null).Max()!.Value;
        var threshold = previous.WatchdogSeconds is > 0 ? TimeSpan.FromSeconds(previous.WatchdogSeconds.Value) : DefaultStallThreshold;
        var stalled = TimeSpan.FromMilliseconds(alive - heartbeat);
        return stalled > threshold
            ? string.Create(CultureInfo.InvariantCulture,
                $"the main loop had stalled: last heartbeat {Time(heartbeat)}, still alive {stalled.TotalSeconds:0.#} s later with no heartbeat (threshold {threshold.TotalSeconds:0.#} s)")
            : null;
    }

    private static bool NearLimitEvidence(long? footprint, long? limit, out string sentence)
    {
        sentence = "";
        if (footprint is not { } bytes || limit is not > 0) return false;
        var fraction = (double)bytes / limit.Value;
        if (fraction < NearLimitFraction) return false;
        sentence = string.Create(CultureInfo.InvariantCulture,
            $"last footprint {ByteSize.Format(bytes)} was {100 * fraction:0}% of the limit {ByteSize.Format(limit.Value)} (at least {NearLimitFraction * 100:0}%: memory was critical)");
        return true;
    }

    /// <summary>A memory warning after the last footprint sample: memory was short when the record goes quiet.</summary>
    private static string? LateWarning(SessionInfo previous, AppMarks? marks)
    {
        var lastSample = previous.LastFootprintTime ?? long.MinValue;
        var warning = previous.Warnings.Where(w => w.Time >= lastSample).MaxBy(w => w.Time);
        if (warning is not null)
            return $"a memory warning ({warning.Source}, footprint {ByteSize.Format(warning.FootprintBytes)}) came {Time(warning.Time)}, after the last footprint sample";
        if (marks?.LastWarningTimeMilliseconds is { } time && time >= lastSample)
            return $"a memory warning came {Time(time)}, after the last footprint sample";
        return null;
    }

    private static bool Changed(string? before, string? after) =>
        !string.IsNullOrEmpty(before) && !string.IsNullOrEmpty(after) && !string.Equals(before, after, StringComparison.Ordinal);

    private static string Short(string id) => id.Length > 16 ? id[..16] + "…" : id;

    private static string At(long? milliseconds) => milliseconds is { } time ? " at " + Time(time) : "";

    private static string Time(long milliseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(milliseconds).ToString("yyyy-MM-dd HH:mm:ss.fff 'UTC'", CultureInfo.InvariantCulture);
}
