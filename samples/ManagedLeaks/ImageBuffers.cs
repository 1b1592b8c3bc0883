using System.Runtime.CompilerServices;

namespace ManagedLeaks;

/// <summary>(b) A few 50 MB arrays: decoded images that are never released.</summary>
public sealed class ImageBuffers : ILeak
{
    private const int ImageBytes = 50 << 20;
    private readonly List<byte[]> _images = [];
    private long _owed;

    public long Grow(long bytes)
    {
        // One 50 MB image per 50 MB asked for, so that the rate holds on average.
        _owed += bytes;
        if (_owed < ImageBytes) return bytes;
        _owed -= ImageBytes;
        _images.Add(Decode());
        return bytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static byte[] Decode()
    {
        var pixels = new byte[ImageBytes];
        // Touched, so the pages are resident as a decoded image's are.
        for (var i = 0; i < pixels.Length; i += 4096) pixels[i] = 1;
        return pixels;
    }

    public void Release()
    {
        _images.Clear();
        _owed = 0;
    }
}
