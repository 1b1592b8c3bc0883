using System.Runtime.InteropServices;

namespace Foom.Interop;

/// <summary>struct pollfd: one descriptor and the events asked for and seen.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PollFd
{
    public int Fd;
    public short Events;
    public short Revents;
}
