using System.Runtime.InteropServices;

namespace Foom.Recording.Tests.Support;

/// <summary>Signals for tests that play the user, the kernel or a test harness.</summary>
public static partial class Posix
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
