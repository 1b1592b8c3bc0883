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
    /// A 128-bit hash of a whole stack: two xxHash64-style accumulations with different primes,
    /// each over every frame in two interleaved lanes, so that the multiplies of neighbouring
    /// frames overlap (a 40-frame stack hashes in a few tens of nanoseconds). Two different stacks
    /// share it with probability about 2^-128, which is what lets the stack table recognise a
    /// stack seen before without walking its nodes.
    /// </summary>
    public static UInt128 OfStack(ReadOnlySpan<Frame> frames)
    {
        var values = MemoryMarshal.Cast<Frame, ulong>(frames);
        ulong a = Prime1, b = Prime2, c = Prime3, d = Prime4;
        var i = 0;
        for (; i + 2 <= values.Length; i += 2)
        {
            a = Round(a, values[i]);
            b = Round(b, values[i + 1]);
            c = Round2(c, values[i]);
            d = Round2(d, values[i + 1]);
        }
        if (i < values.Length)
        {
            a = Round(a, values[i]);
            c = Round2(c, values[i]);
        }
        var length = (ulong)values.Length;
        var low = Mix(BitOperations.RotateLeft(a, 1) + BitOperations.RotateLeft(b, 7) + length);
        var high = MixOther(BitOperations.RotateLeft(c, 12) + BitOperations.RotateLeft(d, 18) + length * Prime1);
        return new UInt128(high, low);
    }

    private const ulong Prime3 = 0x165667B19E3779F9;
    private const ulong Prime4 = 0x85EBCA77C2B2AE63;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round2(ulong acc, ulong input) => BitOperations.RotateLeft(acc + input * Prime4, 27) * Prime3;

    /// <summary>SplitMix64's finalizer, a second mixer independent of <see cref="Mix"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MixOther(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9;
        x ^= x >> 27;
        x *= 0x94D049BB133111EB;
        x ^= x >> 31;
        return x;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round(ulong acc, ulong input) => BitOperations.RotateLeft(acc + input * Prime2, 31) * Prime1;
}
