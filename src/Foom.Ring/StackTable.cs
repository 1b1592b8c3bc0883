using System.Runtime.CompilerServices;

namespace Foom.Ring;

/// <summary>
/// Stack hash → frames, for the stacks the hook sends once in full and afterwards by hash only.
/// Open addressing over a key array and one growing frame arena: adding or finding a stack
/// allocates nothing except when the table or the arena doubles.
/// </summary>
public sealed class StackTable
{
    private ulong[] keys = new ulong[1024];
    private int[] offsets = new int[1024];
    private byte[] counts = new byte[1024];
    private ulong[] arena = new ulong[16 * 1024];
    private int arenaUsed;

    /// <summary>Distinct stacks held.</summary>
    public int Count { get; private set; }

    /// <summary>Frames held in the arena.</summary>
    public long FrameCount => arenaUsed;

    /// <summary>Remembers (or replaces) the frames of <paramref name="hash"/>; hash 0 is never used.</summary>
    public void Add(ulong hash, ReadOnlySpan<ulong> frames)
    {
        if (hash == 0) throw new ArgumentOutOfRangeException(nameof(hash), "stack hash 0 is not used by the hook");
        if ((Count + 1) * 2 > keys.Length) Grow();
        var slot = HashSlots.Find(keys, hash);
        if (keys[slot] == hash && frames.SequenceEqual(arena.AsSpan(offsets[slot], counts[slot]))) return;
        if (arenaUsed + frames.Length > arena.Length)
            Array.Resize(ref arena, Math.Max(arena.Length * 2, arenaUsed + frames.Length));
        frames.CopyTo(arena.AsSpan(arenaUsed));
        if (keys[slot] != hash)
        {
            keys[slot] = hash;
            Count++;
        }
        offsets[slot] = arenaUsed;
        counts[slot] = (byte)frames.Length;
        arenaUsed += frames.Length;
    }

    /// <summary>The frames sent earlier with <paramref name="hash"/>.</summary>
    // Once per allocation sent by hash: compiled fully optimised at once, with the span helpers
    // inlined, rather than starting as tier-0 code (see RingConsumer.TryRead).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGet(ulong hash, out ReadOnlySpan<ulong> frames)
    {
        var slot = HashSlots.Find(keys, hash);
        if (keys[slot] == hash && hash != 0)
        {
            frames = arena.AsSpan(offsets[slot], counts[slot]);
            return true;
        }
        frames = default;
        return false;
    }

    /// <summary>Forgets every stack (the target exec'ed: its addresses mean something else now).</summary>
    public void Clear()
    {
        Array.Clear(keys);
        Count = 0;
        arenaUsed = 0;
    }

    private void Grow()
    {
        var newKeys = new ulong[keys.Length * 2];
        var newOffsets = new int[keys.Length * 2];
        var newCounts = new byte[keys.Length * 2];
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i] == 0) continue;
            var slot = HashSlots.Find(newKeys, keys[i]);
            newKeys[slot] = keys[i];
            newOffsets[slot] = offsets[i];
            newCounts[slot] = counts[i];
        }
        keys = newKeys;
        offsets = newOffsets;
        counts = newCounts;
    }
}
