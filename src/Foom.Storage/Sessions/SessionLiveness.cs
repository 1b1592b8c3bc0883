using Foom.Interop;

namespace Foom.Storage.Sessions;

/// <summary>
/// Whether a session is still going, so that nothing judges, removes or takes over a run that
/// someone is still recording. Two questions, one set of facts:
/// <list type="bullet">
/// <item><see cref="IsRunning"/>: has the run ended for the exit rules? Not while its recorder or
/// its program is alive on this boot: only the dead are judged, so two `foom run` of the same app
/// at once never infer each other's death (Sentry #2468, #1878).</item>
/// <item><see cref="IsBeingRecorded"/>: is the session still written? The storage engine's writer
/// lock decides when the session has tables (the recorder holds writer.lock while it writes; the
/// kernel releases it when the recorder dies); without tables, whether its recorder is alive.</item>
/// </list>
/// A pid can be reused: a process counts as the session's only if it started around the session
/// (the recorder no later than the session's start, the program within a minute of it).
/// </summary>
public static class SessionLiveness
{
    /// <summary>Clock slop between a recorder starting and it writing its session's start_time.</summary>
    private const long RecorderSlopMilliseconds = 2_000;

    /// <summary>The program is started around the session's start; a pid reused much later is a stranger.</summary>
    private const long ProgramSlopMilliseconds = 60_000;

    private const int ClockTicksName = 2; // _SC_CLK_TCK

    /// <summary>
    /// Whether the run has not ended: no end record, the same boot (<paramref name="currentBootId"/>,
    /// /proc/sys/kernel/random/boot_id; null when unknown), and its recorder or its program alive.
    /// </summary>
    public static bool IsRunning(SessionInfo session, string? currentBootId)
    {
        if (session.End is not null) return false;
        if (!string.IsNullOrEmpty(session.BootId) && !string.IsNullOrEmpty(currentBootId) && session.BootId != currentBootId) return false;
        if (RecorderAlive(session)) return true;
        return ProcessStartTime(session.Pid) is { } programStart
               && Math.Abs(programStart - session.StartTime) <= ProgramSlopMilliseconds;
    }

    /// <summary>Whether the session's recorder process is alive (a process that started after the session began is not it: the pid was reused).</summary>
    public static bool RecorderAlive(SessionInfo session) =>
        ProcessStartTime(session.RecorderPid) is { } recorderStart && recorderStart <= session.StartTime + RecorderSlopMilliseconds;

    /// <summary>
    /// Whether the session in <paramref name="directory"/> is still being recorded: its writer
    /// lock is held, when it has tables; else it has no end record and its recorder is alive. An
    /// unreadable session.json (<paramref name="info"/> null) counts as recorded when the
    /// directory changed in the last minute (it may be being written).
    /// </summary>
    public static bool IsBeingRecorded(string directory, SessionInfo? info)
    {
        if (WriterLockHeld(directory) is { } held) return held;
        if (info is null) return DateTime.UtcNow - Directory.GetLastWriteTimeUtc(directory) < TimeSpan.FromMinutes(1);
        return info.End is null && RecorderAlive(info);
    }

    /// <summary>Whether the session's writer.lock is held (the storage engine's own probe); null when the session has none.</summary>
    public static bool? WriterLockHeld(string directory) =>
        File.Exists(Path.Combine(directory, SessionTables.LockFileName)) ? SessionReader.WriterIsRunning(directory) : null;

    /// <summary>When a live, non-zombie process started (ms since the epoch, to about a second: the kernel's boot time is in seconds); null when there is none.</summary>
    public static long? ProcessStartTime(int pid)
    {
        if (ProcessStat.Read(pid) is not { IsZombie: false } stat) return null;
        if (BootTimeSeconds() is not { } boot) return null;
        var ticksPerSecond = SystemConfiguration.sysconf(ClockTicksName);
        if (ticksPerSecond <= 0) ticksPerSecond = 100;
        return boot * 1000 + stat.StartTicks * 1000 / ticksPerSecond;
    }

    private static long? BootTimeSeconds() =>
        KernelFiles.Read("/proc/stat") is { } stat ? KernelFiles.NumberAfter(stat, "btime ") : null;
}
