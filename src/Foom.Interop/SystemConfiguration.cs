using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>sysconf: the system's constants, such as clock ticks per second.</summary>
public static partial class SystemConfiguration
{
    [LibraryImport("libc")]
    public static partial long sysconf(int name);
}
