using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>The errno values Foom tells apart (x86-64 and arm64 Linux), and their text.</summary>
public static class Errno
{
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EBUSY = 16;
    public const int EINVAL = 22;
    public const int EPIPE = 32;

    public static string Text(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
