using System.Runtime.InteropServices;

namespace Foom.Symbols.IO;

/// <summary>The few libc calls .NET does not offer: a non-blocking open, and fsync of a folder.</summary>
internal static partial class Posix
{
    public const int OpenReadOnly = 0;
    public const int OpenNonBlock = 0x800;      // O_NONBLOCK on x86-64 and arm64 Linux
    public const int OpenCloseOnExec = 0x80000; // O_CLOEXEC

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>Makes a rename or a new file in <paramref name="folder"/> survive a power loss.</summary>
    public static void SyncFolder(string folder)
    {
        var fd = Open(folder, OpenReadOnly | OpenCloseOnExec);
        if (fd < 0) throw new IOException($"{folder}: cannot open the folder to sync it ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"{folder}: fsync failed ({Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())})");
        }
        finally { Close(fd); }
    }
}
