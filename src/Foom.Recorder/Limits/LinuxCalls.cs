using System.Runtime.InteropServices;

namespace Foom.Recorder.Limits;

/// <summary>
/// The libc calls the limits code needs and .NET does not offer: eventfd and poll for cgroup
/// notifications and PSI triggers, and raw open/read/lseek for /dev/kmsg, whose records must be
/// read one read() each, without the buffering a FileStream adds.
/// </summary>
internal static unsafe partial class LinuxCalls
{
    private const string Libc = "libc";

    internal const int O_RDONLY = 0x0;
    internal const int O_WRONLY = 0x1;
    internal const int O_RDWR = 0x2;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;

    internal const int EFD_NONBLOCK = 0x800;
    internal const int EFD_CLOEXEC = 0x80000;

    internal const short POLLIN = 0x1;
    internal const short POLLPRI = 0x2;
    internal const short POLLERR = 0x8;

    internal const int SEEK_END = 2;
    internal const int SEEK_DATA = 3;

    internal const int EINTR = 4;
    internal const int EAGAIN = 11;
    internal const int EINVAL = 22;
    internal const int EPIPE = 32;
    internal const int EBUSY = 16;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int eventfd(uint initial, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    internal static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>Writes all of <paramref name="text"/> to an open descriptor; returns 0 or the errno.</summary>
    internal static int WriteAll(int fd, string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        fixed (byte* start = bytes)
        {
            var written = 0;
            while (written < bytes.Length)
            {
                var result = write(fd, start + written, bytes.Length - written);
                if (result < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR) continue;
                    return errno;
                }
                written += (int)result;
            }
        }
        return 0;
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for <paramref name="events"/> on <paramref name="fd"/>;
    /// true when they came. EINTR restarts the wait (with the whole timeout: callers loop anyway).
    /// </summary>
    internal static bool PollOne(int fd, short events, TimeSpan timeout)
    {
        var descriptor = new PollFd { Fd = fd, Events = events };
        var milliseconds = timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue);
        while (true)
        {
            var ready = poll(&descriptor, 1, milliseconds);
            if (ready > 0) return (descriptor.Revents & events) != 0 || (descriptor.Revents & POLLERR) != 0;
            if (ready == 0) return false;
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR) throw new IOException($"poll failed: {ErrorText(errno)}");
        }
    }
}
