namespace Foom.Benchmarks;

/// <summary>
/// Matrix's alternative for small blocks, adapted to x86-64's 47-bit addresses: a direct table
/// of 16-byte records indexed by address / 16 (Matrix: two levels of 20 + 12 bits for 36-bit
/// iOS addresses; here three levels, 11 + 20 + 12 bits over address bits 4..46). Only what the
/// benchmark compares: insert, remove, lookup, and the memory it takes. Blocks over 128 bytes go
/// to the splay tree in Matrix; the benchmark sends them to a Dictionary, so that the figure is
/// the direct table's own.
/// </summary>
public sealed class MatrixDirectTable
{
    private const int LeafBits = 12;
    private const int MiddleBits = 20;
    private readonly int[]?[] _top = new int[1 << 11][];
    private readonly List<Record[]> _leaves = [null!];

    public struct Record
    {
        public uint Size;
        public int Stack;
        public int Category;
        public uint InUse;
    }

    public long Count { get; private set; }
    public int LeafCount => _leaves.Count - 1;
    public int MiddleCount => _top.Count(m => m is not null);

    /// <summary>Memory the table holds: middle arrays of 4 MiB and leaves of 64 KiB.</summary>
    public long Bytes => MiddleCount * (4L << MiddleBits) + LeafCount * (16L << LeafBits);

    public void Insert(ulong address, uint size, int stack)
    {
        ref var r = ref Slot(address, create: true);
        if (r.InUse == 0) Count++;
        r = new Record { Size = size, Stack = stack, InUse = 1 };
    }

    public bool Remove(ulong address)
    {
        ref var r = ref Slot(address, create: false);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref r) || r.InUse == 0) return false;
        r.InUse = 0;
        Count--;
        return true;
    }

    public bool TryGet(ulong address, out Record record)
    {
        ref var r = ref Slot(address, create: false);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref r) || r.InUse == 0)
        {
            record = default;
            return false;
        }
        record = r;
        return true;
    }

    private ref Record Slot(ulong address, bool create)
    {
        var granule = address >> 4;
        var topIndex = (int)(granule >> (MiddleBits + LeafBits)) & ((1 << 11) - 1);
        var middle = _top[topIndex];
        if (middle is null)
        {
            if (!create) return ref System.Runtime.CompilerServices.Unsafe.NullRef<Record>();
            _top[topIndex] = middle = new int[1 << MiddleBits];
        }
        var middleIndex = (int)(granule >> LeafBits) & ((1 << MiddleBits) - 1);
        var leaf = middle[middleIndex];
        if (leaf == 0)
        {
            if (!create) return ref System.Runtime.CompilerServices.Unsafe.NullRef<Record>();
            leaf = middle[middleIndex] = _leaves.Count;
            _leaves.Add(new Record[1 << LeafBits]);
        }
        return ref _leaves[leaf][(int)granule & ((1 << LeafBits) - 1)];
    }
}
