using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using static Foom.Storage.Live.LiveRecordFormat;

namespace Foom.Storage.Live;

/// <summary>
/// The writer's index of live heap blocks: address to slot of live.foom, an open-addressing hash
/// table with linear probing over a power-of-two array. It is the writer's alone and never on
/// disk: live.foom's in-use marks stay the truth, and the index is rebuilt from them when a
/// writer resumes (<see cref="LiveAllocations.Resume"/>).
///
/// An entry is one ulong: the high 32 bits are the address's hash, the low 32 bits its slot
/// (0 = empty; slot 0 is never a record). A probe compares the hash first and reads the record
/// only on a match, so a miss touches nothing but the index; the home bucket is the hash's top
/// bits, so growing and deleting move entries without reading a record. Deletion shifts later
/// entries of the run back into the hole (no tombstones), so probe runs stay as short as the
/// load alone makes them. The array is on the pinned object heap: it is reached by pointer, and
/// the only allocation is the doubling when the table is over half full.
/// </summary>
internal unsafe struct HeapIndex
{
    /// <summary>Fibonacci hashing: 2^64 / φ, odd, spreads addresses that differ in any bits over the top bits.</summary>
    private const ulong Multiplier = 0x9E37_79B9_7F4A_7C15;
    private const int MinimumBits = 4;
    private const int MaximumBits = 30;

    private ulong[] _array;
    private ulong* _entries;
    private int _mask;
    private int _homeShift;
    private int _count;
    private int _growAt;

    /// <summary>An empty index sized so that <paramref name="expected"/> blocks fit without growing.</summary>
    public HeapIndex(int expected)
    {
        this = default;
        var bits = MinimumBits;
        while (bits < MaximumBits && (1 << bits) / 2 < expected) bits++;
        Allocate(bits);
    }

    public readonly int Count => _count;

    /// <summary>Entries in the array (a power of two).</summary>
    public readonly int Capacity => _mask + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(ulong address) => (uint)((address * Multiplier) >> 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int Home(uint hash) => (int)(hash >> _homeShift);

    /// <summary>
    /// The position of <paramref name="address"/>'s entry, or, when it is not in the index, the
    /// bitwise complement of the empty position where it would go (valid until the next change).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int Find(ulong address, LiveNode* nodes)
    {
        var hash = Hash(address);
        var entries = _entries;
        var i = Home(hash);
        while (true)
        {
            var entry = entries[i];
            if (entry == 0) return ~i;
            if ((uint)(entry >> 32) == hash && Key(nodes[(int)(uint)entry].Word) == address) return i;
            i = (i + 1) & _mask;
        }
    }

    /// <summary>
    /// Starts loading <paramref name="address"/>'s home bucket into the cache, for a
    /// <see cref="Find"/> a few events later: in an index of millions of blocks the bucket is
    /// almost never cached, and the load would otherwise stall the writer for the whole miss.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void PrefetchHome(ulong address)
    {
        if (Sse.IsSupported) Sse.Prefetch0(_entries + Home(Hash(address)));
    }

    /// <summary>
    /// Starts loading the record of <paramref name="address"/>'s block when its home bucket
    /// (prefetched earlier by <see cref="PrefetchHome"/>) holds it: the second miss of a free.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void PrefetchRecord(ulong address, LiveNode* nodes)
    {
        if (!Sse.IsSupported) return;
        var hash = Hash(address);
        var entry = _entries[Home(hash)];
        if (entry != 0 && (uint)(entry >> 32) == hash) Sse.Prefetch0(nodes + (int)(uint)entry);
    }

    /// <summary>The slot of the entry at <paramref name="position"/> (from <see cref="Find"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int SlotAt(int position) => (int)(uint)_entries[position];

    /// <summary>
    /// Whether an insert may use the empty position <see cref="Find"/> gave: false when the index
    /// must grow first (<see cref="Grow"/>, then find again).
    /// </summary>
    public readonly bool HasRoom => _count < _growAt;

    /// <summary>Puts (<paramref name="address"/>, <paramref name="slot"/>) at the empty position <paramref name="emptyPosition"/> from <see cref="Find"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void InsertAt(int emptyPosition, ulong address, int slot)
    {
        _entries[emptyPosition] = ((ulong)Hash(address) << 32) | (uint)slot;
        _count++;
    }

    /// <summary>Removes the entry at <paramref name="position"/>, shifting the rest of its run back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RemoveAt(int position)
    {
        var entries = _entries;
        var mask = _mask;
        var hole = position;
        var i = position;
        while (true)
        {
            i = (i + 1) & mask;
            var entry = entries[i];
            if (entry == 0) break;
            // The entry may fill the hole when the hole lies between its home and where it is.
            var home = Home((uint)(entry >> 32));
            if (((i - home) & mask) >= ((i - hole) & mask))
            {
                entries[hole] = entry;
                hole = i;
            }
        }
        entries[hole] = 0;
        _count--;
    }

    /// <summary>Doubles the array and puts every entry at its new home (no record is read).</summary>
    public void Grow()
    {
        var old = _array;
        var oldCount = _count;
        Allocate(BitsOf(Capacity) + 1);
        var entries = _entries;
        var mask = _mask;
        foreach (var entry in old)
        {
            if (entry == 0) continue;
            var i = Home((uint)(entry >> 32));
            while (entries[i] != 0) i = (i + 1) & mask;
            entries[i] = entry;
        }
        _count = oldCount;
    }

    [MemberNotNull(nameof(_array))]
    private void Allocate(int bits)
    {
        if (bits > MaximumBits) throw new InvalidOperationException($"the heap index cannot grow past 2^{MaximumBits} entries ({1 << (MaximumBits - 1):N0} live heap blocks)");
        _array = GC.AllocateArray<ulong>(1 << bits, pinned: true);
        _entries = (ulong*)Unsafe.AsPointer(ref _array[0]);
        _mask = (1 << bits) - 1;
        _homeShift = 32 - bits;
        _count = 0;
        // At most half full: linear probing's expected probes stay under 2.5 for a miss.
        _growAt = 1 << (bits - 1);
    }

    private static int BitsOf(int capacity) => 31 - int.LeadingZeroCount(capacity);
}
