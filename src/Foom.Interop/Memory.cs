using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>madvise, to populate the ring's pages from the recorder.</summary>
public static unsafe partial class Memory
{
    /// <summary>MADV_POPULATE_WRITE (Linux 5.14): fault every page in for writing, as if written.</summary>
    public const int MADV_POPULATE_WRITE = 23;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int madvise(void* address, nuint length, int advice);
}
