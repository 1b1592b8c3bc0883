using Foom.Ring;

namespace Foom.Recorder.Exits;

/// <summary>The state the program last declared through foom_set_state; NotSet counts as foreground.</summary>
public enum AppRunState
{
    NotSet,
    Foreground,
    Background,
    Suspended,
}

/// <summary>How the program was seen to exit, by the hook: exit(), _exit(), main returning, or only the library unloading at exit.</summary>
/// <param name="How">"exit()", "_exit()", "main returned", or "exit (status not seen)".</param>
/// <param name="Status">The status, when the hook saw it.</param>
public sealed record ExitMark(string How, int? Status, long? TimeMilliseconds);

/// <summary>
/// What the program left in the ring header about itself (WeChat's monitor's app state archive): its
/// state, scene and heartbeat, and the markers of an exit, a crash or a quit signal the hook
/// caught, plus whether a debugger was ever attached. The recorder fills it from the ring header
/// (<see cref="FromRing"/>) at the death, or from the old ring file at the next launch. Times are
/// milliseconds since the Unix epoch.
/// </summary>
public sealed record AppMarks
{
    /// <summary>The program's pid as the hook wrote it when it attached; null before that.</summary>
    public int? Pid { get; init; }

    public AppRunState State { get; init; }
    public long? StateTimeMilliseconds { get; init; }
    public string? Scene { get; init; }

    /// <summary>The last foom_heartbeat(); null when the program never called it (then there is no watchdog).</summary>
    public long? LastHeartbeatMilliseconds { get; init; }

    public bool HeartbeatSeen => LastHeartbeatMilliseconds is not null;

    public ExitMark? Exit { get; init; }

    /// <summary>The fatal signal the hook's handler caught (SIGSEGV, SIGABRT, ...).</summary>
    public int? CrashSignal { get; init; }
    public long? CrashTimeMilliseconds { get; init; }
    public ulong? CrashAddress { get; init; }

    /// <summary>SIGTERM, SIGINT, SIGHUP or SIGQUIT the hook saw arrive, and who sent it.</summary>
    public int? QuitSignal { get; init; }
    public int? QuitSenderPid { get; init; }
    public long? QuitTimeMilliseconds { get; init; }

    public bool DebuggerSeen { get; init; }

    public uint Warnings { get; init; }
    public long? LastWarningTimeMilliseconds { get; init; }
    public long? LastWarningFootprintBytes { get; init; }

    /// <summary>The marks as the hook left them in the ring header; <paramref name="debuggerSeen"/> comes from the recorder (TracerPid).</summary>
    public static AppMarks FromRing(RingMarks marks, bool debuggerSeen = false) => new()
    {
        Pid = marks.TargetPid > 0 ? marks.TargetPid : null,
        State = marks.State switch
        {
            AppState.Foreground => AppRunState.Foreground,
            AppState.Background => AppRunState.Background,
            AppState.Suspended => AppRunState.Suspended,
            _ => AppRunState.NotSet,
        },
        StateTimeMilliseconds = Milliseconds(marks.StateTime),
        Scene = marks.Scene,
        LastHeartbeatMilliseconds = Milliseconds(marks.Heartbeat),
        Exit = marks.ExitKind switch
        {
            ExitKind.Call => new ExitMark("exit()", marks.ExitStatus, Milliseconds(marks.ExitTime)),
            ExitKind.Immediate => new ExitMark("_exit()", marks.ExitStatus, Milliseconds(marks.ExitTime)),
            ExitKind.MainReturn => new ExitMark("main returned", marks.ExitStatus, Milliseconds(marks.ExitTime)),
            ExitKind.Unseen => new ExitMark("exit (status not seen)", null, Milliseconds(marks.ExitTime)),
            _ => null,
        },
        CrashSignal = marks.CrashSignal != 0 ? marks.CrashSignal : null,
        CrashTimeMilliseconds = Milliseconds(marks.CrashTime),
        CrashAddress = marks.CrashSignal != 0 ? marks.CrashAddress : null,
        QuitSignal = marks.QuitSignal != 0 ? marks.QuitSignal : null,
        QuitSenderPid = marks.QuitSignal != 0 && marks.QuitSenderPid != 0 ? marks.QuitSenderPid : null,
        QuitTimeMilliseconds = Milliseconds(marks.QuitTime),
        DebuggerSeen = debuggerSeen,
        Warnings = marks.Warnings,
        LastWarningTimeMilliseconds = Milliseconds(marks.WarningTime),
        LastWarningFootprintBytes = marks.Warnings != 0 ? (long)Math.Min(marks.WarningFootprint, long.MaxValue) : null,
    };

    private static long? Milliseconds(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();
}
