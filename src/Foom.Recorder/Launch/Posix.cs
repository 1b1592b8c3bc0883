using System.Runtime.InteropServices;

namespace Foom.Recorder.Launch;

/// <summary>
/// The few libc calls the launcher needs and .NET does not offer: posix_spawn with a chosen
/// environment and signal state, and waitpid with the raw status, so that "killed by SIGKILL"
/// and "exited with 137" stay different things.
/// </summary>
internal static unsafe partial class Posix
{
    private const string Libc = "libc";

    // glibc's posix_spawnattr_t is 336 bytes and sigset_t 128; the buffers are rounded up.
    internal const int SpawnAttributesSize = 512;
    internal const int SignalSetSize = 128;
    internal const short PosixSpawnSetSigDefault = 0x04;
    internal const short PosixSpawnSetSigMask = 0x08;

    internal const int EINTR = 4;

    internal const int P_PID = 1;
    internal const int WNOHANG = 1;
    internal const int WEXITED = 4;
    internal const int WNOWAIT = 0x01000000;
    internal const int SignalInfoSize = 128;

    [LibraryImport(Libc)]
    internal static partial int posix_spawn(out int pid, byte* path, nint fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport(Libc)]
    internal static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport(Libc)]
    internal static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport(Libc)]
    internal static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport(Libc)]
    internal static partial int posix_spawnattr_setsigmask(void* attributes, void* signals);

    [LibraryImport(Libc)]
    internal static partial int posix_spawnattr_setsigdefault(void* attributes, void* signals);

    [LibraryImport(Libc)]
    internal static partial int sigemptyset(void* signals);

    [LibraryImport(Libc)]
    internal static partial int sigfillset(void* signals);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int waitpid(int pid, out int status, int options);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int waitid(int idType, int id, void* info, int options);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int kill(int pid, int signal);

    [LibraryImport(Libc, SetLastError = true)]
    internal static partial int access(byte* path, int mode);
}
