using System.Runtime.InteropServices;

namespace Foom.Report.Building;

/// <summary>What kind of thing a live block is, which decides how its category is named.</summary>
public enum BlockKind : byte
{
    /// <summary>A heap block (malloc family, operator new): named by its size.</summary>
    Malloc,
    /// <summary>A mapping (mmap): named "VM: kind" after the kind's name.</summary>
    Mapping,
    /// <summary>An object of a runtime type (.NET, Objective-C): named after the type.</summary>
    Type,
}

/// <summary>
/// A category before it has a name: the kind, and for mappings and types the id in the session's
/// category table (for heap blocks the name comes from the size, so the id is unused).
/// </summary>
public readonly record struct CategoryKey(BlockKind Kind, int Id);

/// <summary>
/// The totals of the live blocks that one stack holds in one category. In a sampled run they are
/// estimates: <see cref="SizeVariance"/> and <see cref="CountVariance"/> are the variances of the
/// estimates (0 where every block was recorded) and <see cref="Samples"/> the sampled blocks
/// they rest on; sums of totals add the variances, the blocks being sampled independently.
/// </summary>
public readonly record struct CellTotals(long Size, long Count)
{
    public double SizeVariance { get; init; }
    public double CountVariance { get; init; }
    public long Samples { get; init; }

    /// <summary>Whether the totals are estimated from samples (else exact).</summary>
    public bool IsEstimate => Samples > 0;

    public static CellTotals operator +(CellTotals a, CellTotals b) => new(a.Size + b.Size, a.Count + b.Count)
    {
        SizeVariance = a.SizeVariance + b.SizeVariance,
        CountVariance = a.CountVariance + b.CountVariance,
        Samples = a.Samples + b.Samples,
    };
}

/// <summary>
/// The live heap summed by category and stack: the report builder's intermediate form between
/// the session's storage (one record per live block) and the report (named categories, merged
/// stacks). One dictionary lookup per live block. Sizes are the bytes the program asked for,
/// exactly (heaptrack's and memray's figure, and the one `foom run` prints); only a heap block's
/// category name rounds its size up to 16, as Matrix names them.
/// </summary>
/// <remarks>
/// In a sampled run (<see cref="SampleBytes"/> N above 0) a heap block of s bytes below N was
/// recorded with chance p = 1 − e^(−s/N), independently of every other (docs/hook.md, "Sampled
/// mode"), so it stands for 1/p blocks and 1/p times its size: the Horvitz–Thompson estimator,
/// unbiased, whose variance is estimated by the sum over the sampled blocks of (1 − p)/p² times
/// the square of what each stands for. Blocks of N bytes or more, and mappings, were all
/// recorded and count exactly. Each cell's estimate is rounded once (to whole bytes and whole
/// blocks), so every total in the report is a sum of the same rounded cells and still
/// adds up exactly.
/// </remarks>
public sealed class LiveHeap(long sampleBytes = 0)
{
    // A cell's key packs kind (2 bits), category id (30 bits) and stack id (32 bits) into one
    // word: one cheap hash per live block.
    private readonly Dictionary<ulong, CellSums> _cells = new();
    private bool _totalsKnown = true;
    private long _liveBytes, _liveCount;
    private CellTotals _estimatedTotals;
    // Heap-block category ids by rounded size: an array for sizes below SmallSizes × 16 bytes
    // (nearly every block), a dictionary above.
    private const int SmallSizes = 4096;
    private readonly int[] _smallMallocIds = new int[SmallSizes];
    private readonly Dictionary<long, int> _mallocIdsBySize = new();
    private readonly Dictionary<string, int> _mallocIdsByName = new(StringComparer.Ordinal);
    private readonly List<string> _mallocIdNames = [];
    // Resident bytes of the cells whose blocks were measured (mappings and large heap blocks), by cell key.
    private readonly Dictionary<ulong, long> _resident = new();

    /// <summary>Of the measured blocks' bytes, those that were not resident (reserved and never touched, or swapped out); null when no block was measured.</summary>
    public long? NotResidentBytes { get; private set; }

    /// <summary>0 when every block was recorded; N when heap blocks below N bytes were sampled, one per N bytes on average.</summary>
    public long SampleBytes { get; } = sampleBytes >= 0 ? sampleBytes : throw new ArgumentOutOfRangeException(nameof(sampleBytes), sampleBytes, "a sampling interval is not negative");

    /// <summary>Whether the run was sampled: the totals are estimates where they rest on sampled blocks.</summary>
    public bool Sampled => SampleBytes > 0;

    public long LiveBytes
    {
        get
        {
            SumCells();
            return _liveBytes;
        }
    }

    public long LiveCount
    {
        get
        {
            SumCells();
            return _liveCount;
        }
    }

    /// <summary>The whole heap's totals with their variances and samples (what the report's head states as its bound).</summary>
    public CellTotals Totals
    {
        get
        {
            SumCells();
            return _estimatedTotals;
        }
    }

    /// <summary>
    /// Adds one live block; <paramref name="resident"/> is how many of its bytes were resident
    /// when it was measured (mappings and large heap blocks, from a smaps sample), or null.
    /// Heap blocks are keyed by their category name, so blocks of 1.00 MiB and of 1.00 MiB + 16 share one.
    /// </summary>
    public void Add(BlockKind kind, int categoryId, uint stackId, long size, long? resident = null)
    {
        var category = kind == BlockKind.Malloc ? MallocCategoryId(CategoryNames.RoundUp16(size)) : categoryId;
        if ((uint)category >= 1u << 30) throw new ArgumentOutOfRangeException(nameof(categoryId), categoryId, "category ids go up to 2^30");
        var key = ((ulong)kind << 62) | ((ulong)(uint)category << 32) | stackId;
        ref var cell = ref CollectionsMarshal.GetValueRefOrAddDefault(_cells, key, out _);
        if (kind == BlockKind.Malloc && size < SampleBytes)
        {
            // The hook sampled it by its requested size; it stands for 1/p blocks of its size.
            var p = -double.ExpM1(-(double)size / SampleBytes);
            var weight = 1 / p;
            var spread = (1 - p) * weight * weight;
            cell.EstimatedSize += size * weight;
            cell.EstimatedCount += weight;
            cell.SizeVariance += spread * size * (double)size;
            cell.CountVariance += spread;
            cell.Samples++;
            _totalsKnown = false;
            return;
        }
        cell.ExactSize += size;
        cell.ExactCount++;
        if (_totalsKnown)
        {
            _liveBytes += size;
            _liveCount++;
            _estimatedTotals = new CellTotals(_liveBytes, _liveCount);
        }
        if (resident is not { } bytes) return;
        // A block's pages may hold bytes of its neighbours: it is never more resident than its size.
        bytes = Math.Clamp(bytes, 0, size);
        CollectionsMarshal.GetValueRefOrAddDefault(_resident, key, out _) += bytes;
        NotResidentBytes = (NotResidentBytes ?? 0) + size - bytes;
    }

    /// <summary>The resident bytes of one cell's measured blocks; null when none of them was measured.</summary>
    public long? ResidentOf(CategoryKey category, uint stackId) =>
        _resident.TryGetValue(((ulong)category.Kind << 62) | ((ulong)(uint)category.Id << 32) | stackId, out var bytes) ? bytes : null;

    /// <summary>Every (category, stack) cell with its totals.</summary>
    public IEnumerable<(CategoryKey Category, uint StackId, CellTotals Totals)> Cells()
    {
        foreach (var (key, sums) in _cells)
            yield return (new CategoryKey((BlockKind)(key >> 62), (int)((key >> 32) & ((1u << 30) - 1))), (uint)key, sums.Totals());
    }

    // In a sampled run the totals are the sums of the rounded cells, made once when asked for.
    private void SumCells()
    {
        if (_totalsKnown) return;
        var totals = new CellTotals(0, 0);
        foreach (var sums in _cells.Values) totals += sums.Totals();
        _estimatedTotals = totals;
        _liveBytes = totals.Size;
        _liveCount = totals.Count;
        _totalsKnown = true;
    }

    /// <summary>One cell while blocks are added: the exact part and the sampled part apart.</summary>
    private struct CellSums
    {
        public long ExactSize, ExactCount, Samples;
        public double EstimatedSize, EstimatedCount, SizeVariance, CountVariance;

        public readonly CellTotals Totals() => Samples == 0
            ? new CellTotals(ExactSize, ExactCount)
            : new CellTotals(ExactSize + (long)Math.Round(EstimatedSize), ExactCount + (long)Math.Round(EstimatedCount))
            {
                SizeVariance = SizeVariance,
                CountVariance = CountVariance,
                Samples = Samples,
            };
    }

    public int CellCount => _cells.Count;

    /// <summary>The name of a heap-block category made by <see cref="Add"/>.</summary>
    public string MallocName(int id) => _mallocIdNames[id];

    // Sizes below 1 MiB each have their own name; above, many sizes share one ("Malloc 2.00 MiB").
    // A name is made once per distinct size, not once per block.
    private int MallocCategoryId(long roundedSize)
    {
        var small = roundedSize >> 4;
        if (small < SmallSizes)
        {
            // Ids are stored plus one, so that 0 means "not named yet".
            ref var cached = ref _smallMallocIds[small];
            if (cached == 0) cached = NamedMallocCategoryId(roundedSize) + 1;
            return cached - 1;
        }
        return NamedMallocCategoryId(roundedSize);
    }

    private int NamedMallocCategoryId(long roundedSize)
    {
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_mallocIdsBySize, roundedSize, out var known);
        if (!known)
        {
            var name = CategoryNames.Malloc(roundedSize);
            ref var byName = ref CollectionsMarshal.GetValueRefOrAddDefault(_mallocIdsByName, name, out var named);
            if (!named)
            {
                byName = _mallocIdNames.Count;
                _mallocIdNames.Add(name);
            }
            id = byName;
        }
        return id;
    }
}
