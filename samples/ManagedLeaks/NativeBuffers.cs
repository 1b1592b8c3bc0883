using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ManagedLeaks;

/// <summary>(f) Native growth: buffers from Marshal.AllocHGlobal that are never freed.</summary>
public sealed unsafe class NativeBuffers : ILeak
{
    private readonly List<IntPtr> _buffers = [];

    public long Grow(long bytes)
    {
        _buffers.Add(Allocate(bytes));
        return bytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IntPtr Allocate(long bytes)
    {
        var buffer = Marshal.AllocHGlobal((IntPtr)bytes);
        // Touched, so the pages count against the limit.
        new Span<byte>((void*)buffer, (int)bytes).Fill(1);
        return buffer;
    }

    public void Release()
    {
        foreach (var buffer in _buffers) Marshal.FreeHGlobal(buffer);
        _buffers.Clear();
    }
}
