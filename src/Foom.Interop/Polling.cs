using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>eventfd and poll, for cgroup notifications and PSI triggers.</summary>
public static unsafe partial class Polling
{
    private const string Libc = "libc";

    public const int EFD_NONBLOCK = 0x800;
    public const int EFD_CLOEXEC = 0x80000;

    public const short POLLIN = 0x1;
    public const short POLLPRI = 0x2;
    public const short POLLERR = 0x8;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int eventfd(uint initial, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for <paramref name="events"/> on <paramref name="fd"/>;
    /// true when they came. EINTR restarts the wait (with the whole timeout: callers loop anyway).
    /// </summary>
    public static bool PollOne(int fd, short events, TimeSpan timeout)
    {
        var descriptor = new PollFd { Fd = fd, Events = events };
        var milliseconds = timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue);
        while (true)
        {
            var ready = poll(&descriptor, 1, milliseconds);
            if (ready > 0) return (descriptor.Revents & events) != 0 || (descriptor.Revents & POLLERR) != 0;
            if (ready == 0) return false;
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR) throw new IOException($"poll failed: {Errno.Text(errno)}");
        }
    }
}
