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

/// <summary>The totals of the live blocks that one stack holds in one category.</summary>
public readonly record struct CellTotals(long Size, long Count);

/// <summary>
/// The live heap summed by category and stack: the report builder's intermediate form between
/// the session's storage (one record per live block) and the report (named categories, merged
/// stacks). One dictionary lookup per live block. Sizes are the bytes the program asked for,
/// exactly (heaptrack's and memray's figure, and the one `foom run` prints); only a heap block's
/// category name rounds its size up to 16, as Matrix names them.
/// </summary>
public sealed class LiveHeap
{
    // A cell's key packs kind (2 bits), category id (30 bits) and stack id (32 bits) into one
    // word: one cheap hash per live block.
    private readonly Dictionary<ulong, CellTotals> _cells = new();
    // Heap-block category ids by rounded size: an array for sizes below SmallSizes × 16 bytes
    // (nearly every block), a dictionary above.
    private const int SmallSizes = 4096;
    private readonly int[] _smallMallocIds = new int[SmallSizes];
    private readonly Dictionary<long, int> _mallocIdsBySize = new();
    private readonly Dictionary<string, int> _mallocIdsByName = new(StringComparer.Ordinal);
    private readonly List<string> _mallocIdNames = [];

    // Resident bytes of the cells whose blocks were measured (mappings and large heap blocks), by cell key.
    private readonly Dictionary<ulong, long> _resident = new();

    public long LiveBytes { get; private set; }
    public long LiveCount { get; private set; }
    /// <summary>Of the measured blocks' bytes, those that were not resident (reserved and never touched, or swapped out); null when no block was measured.</summary>
    public long? NotResidentBytes { get; private set; }

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
        cell = new CellTotals(cell.Size + size, cell.Count + 1);
        LiveBytes += size;
        LiveCount++;
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
        foreach (var (key, totals) in _cells)
            yield return (new CategoryKey((BlockKind)(key >> 62), (int)((key >> 32) & ((1u << 30) - 1))), (uint)key, totals);
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
