using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>
/// posix_spawn with a chosen environment and signal state, which Process.Start does not offer:
/// the launcher starts the target with every signal at its default and none blocked.
/// </summary>
public static unsafe partial class Spawning
{
    private const string Libc = "libc";

    // glibc's posix_spawnattr_t is 336 bytes and sigset_t 128; the buffers are rounded up.
    public const int SpawnAttributesSize = 512;
    public const int SignalSetSize = 128;
    public const short PosixSpawnSetSigDefault = 0x04;
    public const short PosixSpawnSetSigMask = 0x08;

    [LibraryImport(Libc)]
    public static partial int posix_spawn(out int pid, byte* path, nint fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_init(void* attributes);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_destroy(void* attributes);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setflags(void* attributes, short flags);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigmask(void* attributes, void* signals);

    [LibraryImport(Libc)]
    public static partial int posix_spawnattr_setsigdefault(void* attributes, void* signals);

    [LibraryImport(Libc)]
    public static partial int sigemptyset(void* signals);

    [LibraryImport(Libc)]
    public static partial int sigfillset(void* signals);
}
