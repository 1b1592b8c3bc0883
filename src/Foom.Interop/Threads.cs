using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>The calling thread: its kernel id, its priority, its CPU time.</summary>
public static partial class Threads
{
    private const string Libc = "libc";

    /// <summary>setpriority's PRIO_PROCESS: given a thread id, it sets that thread alone.</summary>
    public const int PRIO_PROCESS = 0;

    private const int CLOCK_THREAD_CPUTIME_ID = 3;

    [LibraryImport(Libc)]
    public static partial int gettid();

    [LibraryImport(Libc)]
    public static partial int setpriority(int which, int who, int priority);

    [LibraryImport(Libc)]
    private static partial int clock_gettime(int clock, out Timespec time);

    /// <summary>The calling thread's CPU time (zero when the clock cannot be read).</summary>
    public static TimeSpan CpuTime() =>
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, out var time) == 0 ? TimeSpan.FromTicks(time.Seconds * TimeSpan.TicksPerSecond + time.Nanoseconds / 100) : TimeSpan.Zero;
}
