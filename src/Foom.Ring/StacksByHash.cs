using System.Runtime.CompilerServices;

namespace Foom.Ring;

/// <summary>
/// The drain's one table of stacks by the hook's stack hash: for each hash, the raw frames (pcs)
/// the hook sent once in full before naming the stack by hash alone, and the session's stack id
/// those frames were interned as, with the module epoch of that resolution (a module loaded or
/// unloaded since may turn the same pcs into other frames). The ring consumer fills in frames
/// (<see cref="RingConsumer"/>), the recorder's applier the stack id; an entry may hold either or
/// both: a recorder that resumes a dead one's session knows the stack ids it wrote down, not the
/// frames it was sent. Open addressing (linear probing, hash 0 marking a free slot: the hook never
/// sends it) over one array of slots, so that the consumer's lookup and the applier's right after
/// it read the same cache line, and one growing frame arena: nothing is allocated per event except
/// when the slots or the arena double.
/// </summary>
public sealed class StacksByHash
{
    private const int InitialSlots = 1 << 14;

    private Slot[] slots = new Slot[InitialSlots];
    private ulong[] arena = new ulong[16 * 1024];
    private int arenaUsed;

    /// <summary>Distinct hashes held (with frames, a stack id, or both).</summary>
    public int Count { get; private set; }

    /// <summary>Frames held in the arena.</summary>
    public long FrameCount => arenaUsed;

    /// <summary>Remembers (or replaces) the frames of <paramref name="hash"/>; a stack id noted for it stays.</summary>
    public void AddFrames(ulong hash, ReadOnlySpan<ulong> frames)
    {
        ref var slot = ref SlotFor(hash);
        if (slot.HasFrames && frames.SequenceEqual(arena.AsSpan(slot.FramesAt, slot.FrameCount))) return;
        if (arenaUsed + frames.Length > arena.Length)
            Array.Resize(ref arena, Math.Max(arena.Length * 2, arenaUsed + frames.Length));
        frames.CopyTo(arena.AsSpan(arenaUsed));
        slot.FramesAt = arenaUsed;
        slot.FrameCount = (byte)frames.Length;
        slot.HasFrames = true;
        arenaUsed += frames.Length;
    }

    /// <summary>The frames sent earlier with <paramref name="hash"/>.</summary>
    // Once per allocation sent by hash: compiled fully optimised at once, with the span helpers
    // inlined, rather than starting as tier-0 code (see RingConsumer.TryRead).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetFrames(ulong hash, out ReadOnlySpan<ulong> frames)
    {
        ref var slot = ref slots[Find(slots, hash)];
        if (slot.HasFrames && hash != 0)
        {
            frames = arena.AsSpan(slot.FramesAt, slot.FrameCount);
            return true;
        }
        frames = default;
        return false;
    }

    /// <summary>Notes that <paramref name="hash"/>'s frames were interned as <paramref name="stackId"/> in module epoch <paramref name="epoch"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SetStackId(ulong hash, int stackId, int epoch)
    {
        ref var slot = ref SlotFor(hash);
        slot.StackId = stackId;
        slot.Epoch = epoch;
        slot.HasStackId = true;
    }

    /// <summary>The stack id and module epoch noted for <paramref name="hash"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetStackId(ulong hash, out int stackId, out int epoch)
    {
        ref var slot = ref slots[Find(slots, hash)];
        if (slot.HasStackId && hash != 0)
        {
            stackId = slot.StackId;
            epoch = slot.Epoch;
            return true;
        }
        stackId = 0;
        epoch = 0;
        return false;
    }

    /// <summary>Forgets every stack (the target exec'ed: its addresses mean something else now).</summary>
    public void Clear()
    {
        Array.Clear(slots);
        Count = 0;
        arenaUsed = 0;
    }

    /// <summary>The slot of <paramref name="hash"/>, taken for it if it had none.</summary>
    private ref Slot SlotFor(ulong hash)
    {
        if (hash == 0) throw new ArgumentOutOfRangeException(nameof(hash), "stack hash 0 is not used by the hook");
        if ((Count + 1) * 2 > slots.Length) Grow();
        ref var slot = ref slots[Find(slots, hash)];
        if (slot.Hash != hash)
        {
            slot.Hash = hash;
            Count++;
        }
        return ref slot;
    }

    /// <summary>The slot holding <paramref name="hash"/>, else the free slot where it would go.</summary>
    private static int Find(Slot[] slots, ulong hash)
    {
        var mask = slots.Length - 1;
        var index = (int)(hash ^ (hash >> 29)) & mask;
        while (slots[index].Hash != 0 && slots[index].Hash != hash) index = (index + 1) & mask;
        return index;
    }

    private void Grow()
    {
        var grown = new Slot[slots.Length * 2];
        foreach (var slot in slots)
            if (slot.Hash != 0) grown[Find(grown, slot.Hash)] = slot;
        slots = grown;
    }

    /// <summary>24 bytes: what is known of one hash.</summary>
    private struct Slot
    {
        public ulong Hash;
        public int FramesAt;
        public int StackId;
        public int Epoch;
        public byte FrameCount;
        public bool HasFrames;
        public bool HasStackId;
    }
}
