namespace Foom.Storage.Live;

/// <summary>What kind of memory a live allocation is.</summary>
public enum AllocationKind : byte
{
    /// <summary>A block from malloc, calloc, realloc, memalign and the rest of that family.</summary>
    Heap = 0,
    /// <summary>A region from mmap (a page multiple); munmap of part of it trims or splits it.</summary>
    Mapping = 1,
}

/// <summary>One live allocation, as the engine stores it.</summary>
/// <param name="Address">Where it starts.</param>
/// <param name="Size">
/// Bytes. Exact for heap blocks under 4 GiB; larger heap blocks and every mapping are kept in
/// 4 KiB pages, so their size is rounded up to a page (see <see cref="LiveRecordFormat"/>).
/// </param>
/// <param name="StackId">The allocating stack in the stack table; 0 when none was recorded.</param>
/// <param name="CategoryId">The category in the category table; 0 when none was given (the report then names it by size).</param>
/// <param name="Kind">Heap block or mapping.</param>
public readonly record struct LiveAllocation(ulong Address, ulong Size, int StackId, int CategoryId, AllocationKind Kind)
{
    /// <summary>The first address past it.</summary>
    public ulong End => Address + Size;
}

/// <summary>What an insert did.</summary>
public enum InsertOutcome
{
    /// <summary>A new record.</summary>
    Inserted,
    /// <summary>
    /// The address was already live: the old record was replaced. For a heap block this means a
    /// free Foom never saw; for a mapping, an munmap it never saw (or an mmap with MAP_FIXED).
    /// </summary>
    Replaced,
    /// <summary>
    /// Not recorded because it cannot be stored (see <see cref="LiveRecordFormat"/>: an address at
    /// or above 2^48, a heap address not 8-aligned, a mapping not page-aligned, a size of 16 TiB or
    /// more, a category id over 65535). Counted in <see cref="LiveAllocations.RejectedCount"/>.
    /// </summary>
    Rejected,
}

/// <summary>What a map or unmap of an address range did to the mappings that were there.</summary>
/// <param name="Removed">Mappings wholly inside the range, removed.</param>
/// <param name="Trimmed">Mappings that lost their part inside the range.</param>
/// <param name="Split">A mapping that held the whole range and became two.</param>
/// <param name="BytesRemoved">Bytes of earlier mappings that the range covered.</param>
public readonly record struct RangeOutcome(int Removed, int Trimmed, bool Split, ulong BytesRemoved)
{
    public bool Touched => Removed > 0 || Trimmed > 0 || Split;
}
