using System.Runtime.InteropServices;

namespace Foom.Ring;

/// <summary>madvise, to populate the ring's pages from the recorder.</summary>
internal static unsafe partial class PageTouch
{
    /// <summary>MADV_POPULATE_WRITE (Linux 5.14): fault every page in for writing, as if written.</summary>
    public const int PopulateWrite = 23;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int madvise(void* address, nuint length, int advice);
}
