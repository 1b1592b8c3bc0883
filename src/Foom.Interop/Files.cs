using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>
/// Raw file descriptors, for what a FileStream cannot do: /dev/kmsg, whose records must be read
/// one read() each without buffering; cgroup and PSI files polled for events; a non-blocking
/// open (a FIFO named as a binary must not hang the symbolizer); fsync of a folder; access().
/// </summary>
public static unsafe partial class Files
{
    private const string Libc = "libc";

    public const int O_RDONLY = 0x0;
    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    public const int SEEK_END = 2;
    public const int SEEK_DATA = 3;

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>access(2) on a NUL-terminated path, already in bytes (the launcher resolves programs before it spawns).</summary>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int access(byte* path, int mode);

    /// <summary>Writes all of <paramref name="text"/> to an open descriptor; returns 0 or the errno.</summary>
    public static int WriteAll(int fd, string text)
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
                    if (errno == Errno.EINTR) continue;
                    return errno;
                }
                written += (int)result;
            }
        }
        return 0;
    }

    /// <summary>Makes a rename or a new file in <paramref name="folder"/> survive a power loss; an IOException names what failed.</summary>
    public static void SyncFolder(string folder)
    {
        var fd = open(folder, O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw new IOException($"{folder}: cannot open the folder to sync it ({Errno.Text(Marshal.GetLastPInvokeError())})");
        try
        {
            if (fsync(fd) != 0) throw new IOException($"{folder}: fsync failed ({Errno.Text(Marshal.GetLastPInvokeError())})");
        }
        finally { close(fd); }
    }
}
