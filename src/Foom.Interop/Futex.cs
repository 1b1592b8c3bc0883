using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>Shared (not process-private) futex operations on words of the ring file, which the
/// hook's watcher thread waits on from its own mapping of the same file.</summary>
public static unsafe partial class Futex
{
    private const long SysFutex = 202; // x86-64
    private const int FutexWait = 0;
    private const int FutexWake = 1;

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, void* address, int operation, int value, void* timeout, void* address2, int value3);

    public static void WakeAll(uint* word) => syscall(SysFutex, word, FutexWake, int.MaxValue, null, null, 0);

    /// <summary>Sleeps while *word is <paramref name="expected"/>, at most <paramref name="timeout"/> (or until a wake or a signal).</summary>
    public static void Wait(uint* word, uint expected, TimeSpan timeout)
    {
        var ticks = Math.Max(0, timeout.Ticks);
        var time = stackalloc long[2];
        time[0] = ticks / TimeSpan.TicksPerSecond;
        time[1] = ticks % TimeSpan.TicksPerSecond * 100;
        syscall(SysFutex, word, FutexWait, unchecked((int)expected), time, null, 0);
    }
}
