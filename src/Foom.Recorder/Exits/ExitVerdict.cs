using Foom.Recorder.Launch;
using Foom.Recorder.Limits;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Exits;

/// <summary>Why a run ended, how that was known, and the evidence, in short sentences for people.</summary>
public sealed record ExitVerdict(ExitReason Reason, ExitHow How, IReadOnlyList<string> Evidence)
{
    /// <summary>For a memory death inside the process, how it happened ("dotnet_out_of_memory"); null otherwise.</summary>
    public string? Mechanism { get; init; }

    /// <summary>The kernel's kill of another process of the run's group that the verdict names (the victim rule); null otherwise.</summary>
    public KernelOomKill? Victim { get; init; }

    /// <summary>
    /// The end record for session.json. <paramref name="exitStatus"/> is what `foom run`
    /// returned (the code, or 128 + signal), null when nobody saw it.
    /// </summary>
    public SessionEnd ToEnd(long endTime, int? exitStatus, int? signal, string? inferredBySession = null) => new()
    {
        EndTime = endTime,
        ExitStatus = exitStatus,
        Signal = signal,
        ExitReason = Reason.Name(),
        How = How.Name(),
        Evidence = [.. Evidence],
        InferredBySession = inferredBySession,
        Mechanism = Mechanism,
        VictimPid = Victim?.Killed.Pid,
        VictimTask = Victim?.Killed.Task,
    };

    public override string ToString() => $"{Reason.Name()} ({How.Name()}): {string.Join("; ", Evidence)}";
}

/// <summary>A kill Foom did itself: at the limit it enforces when no cgroup could be made, or by the watchdog.</summary>
public sealed record FoomKill
{
    private FoomKill(bool watchdog, string evidence) => (IsWatchdog, Evidence) = (watchdog, evidence);

    public bool IsWatchdog { get; }

    public string Evidence { get; }

    public static FoomKill AtLimit(long footprintBytes, long limitBytes, string? whyNoCgroup = null) => new(false,
        $"foom killed it (SIGKILL): footprint {ByteSize.Format(footprintBytes)} crossed the limit {ByteSize.Format(limitBytes)} it enforces itself"
        + (whyNoCgroup is null ? "" : $" ({whyNoCgroup})"));

    public static FoomKill ByWatchdog(TimeSpan stalledFor, double watchdogSeconds) => new(true,
        $"foom's watchdog killed it (SIGKILL): no heartbeat for {stalledFor.TotalSeconds:0.#} s in the foreground (--watchdog {watchdogSeconds:0.#})");
}

/// <summary>
/// Everything the recorder saw of a death it witnessed: the wait status first, then the OOM
/// evidence (its group's oom_kill counter, the kernel's kill line), its own kills, and the
/// program's last marks.
/// </summary>
public sealed record ObservedDeath
{
    /// <summary>The exit code, when the program exited.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The signal that ended the program, when one did.</summary>
    public int? Signal { get; init; }

    public bool CoreDumped { get; init; }

    /// <summary>Set when Foom itself sent the fatal SIGKILL.</summary>
    public FoomKill? KilledByFoom { get; init; }

    /// <summary>
    /// The signal came from Foom passing on one it received (the user pressed Ctrl-C on
    /// `foom run`): a quit by the user, whoever delivered it.
    /// </summary>
    public bool SignalForwardedByFoom { get; init; }

    /// <summary>The program's own memory cgroup (null when it had none) and its OOM kills during the run.</summary>
    public string? GroupPath { get; init; }
    public long? OomKillsInGroup { get; init; }

    /// <summary>The kernel's kill line for the program's pid, when /dev/kmsg had one.</summary>
    public KernelOomKill? KernelKill { get; init; }

    /// <summary>Kernel kills of other processes of the program's group (its children).</summary>
    public IReadOnlyList<KernelOomKill> OtherKillsInGroup { get; init; } = [];

    /// <summary>Why /dev/kmsg could not be read, when it could not.</summary>
    public string? KernelLogProblem { get; init; }

    public AppMarks? Marks { get; init; }

    /// <summary>A .NET program's OutOfMemoryException death: the crash report or the diagnostics port saw it.</summary>
    public Foom.Managed.DotnetOutOfMemory? DotnetOutOfMemory { get; init; }

    /// <summary>Allocations that failed for want of memory during the run (the hook's events), and the newest.</summary>
    public long FailedAllocations { get; init; }
    public FailedAllocationRecord? LastFailedAllocation { get; init; }

    /// <summary>When the recorder saw the program end (Unix ms): how long after the last failure it died.</summary>
    public long? DeathTimeMilliseconds { get; init; }

    /// <summary>The name (comm) of the process that sent the quit signal, looked up at the death.</summary>
    public string? QuitSenderName { get; init; }

    public long? LastFootprintBytes { get; init; }
    public long? LimitBytes { get; init; }
    public bool DebuggerSeen { get; init; }

    /// <summary>The code or the signal of a wait status.</summary>
    public static ObservedDeath From(WaitStatus status) => new()
    {
        ExitCode = status.Exited ? status.ExitCode : null,
        Signal = status.Signaled ? status.TermSignal : null,
        CoreDumped = status.CoreDumped,
    };

    /// <summary>What `foom run` returns for it: the code, or 128 + signal.</summary>
    public int? ShellStatus => ExitCode ?? (Signal is { } signal ? 128 + signal : null);
}

/// <summary>The machine and program as a later launch sees them: what an unfinished session is compared with.</summary>
/// <param name="SessionId">The launching session, named in the evidence.</param>
/// <param name="TimeMilliseconds">When the launch happened.</param>
public sealed record LaunchContext(string? SessionId, string? BootId, string? KernelRelease, string? MainBuildId, long TimeMilliseconds);
