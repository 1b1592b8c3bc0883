using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>
/// Waiting for, signalling and replacing processes: waitpid and waitid with the raw status (so
/// that "killed by SIGKILL" and "exited with 137" stay different things), kill, execv.
/// </summary>
public static unsafe partial class Processes
{
    private const string Libc = "libc";

    public const int P_PID = 1;
    public const int WNOHANG = 1;
    public const int WEXITED = 4;
    public const int WNOWAIT = 0x01000000;
    public const int SignalInfoSize = 128;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int waitpid(int pid, out int status, int options);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int waitid(int idType, int id, void* info, int options);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int kill(int pid, int signal);

    /// <summary>Replaces this process; returns only when that failed (the errno says why).</summary>
    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int execv(string path, string?[] argv);
}
