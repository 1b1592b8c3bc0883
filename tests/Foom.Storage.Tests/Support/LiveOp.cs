using Foom.Storage.Live;

namespace Foom.Storage.Tests.Support;

internal enum LiveOpKind : byte
{
    InsertHeap,
    RemoveHeap,
    UpdateCategory,
    InsertMapping,
    UnmapRange,
    LookupHeap,
    LookupMapping,
}

/// <summary>
/// One operation on the live-allocation table, as the property tests generate it and the crash
/// helper replays it. Applying it to the engine and to <see cref="LiveModel"/> gives results
/// that must be equal.
/// </summary>
internal readonly record struct LiveOp(LiveOpKind Kind, ulong Address, ulong Size, int Stack, int Category)
{
    public const ulong HeapBase = 0x5555_0000_0000;
    public const ulong MapBase = 0x7f00_0000_0000;
    public const ulong Page = 4096;

    public bool IsMutation => Kind is not (LiveOpKind.LookupHeap or LiveOpKind.LookupMapping);

    public object Apply(LiveAllocations live) => Kind switch
    {
        LiveOpKind.InsertHeap => live.InsertHeap(Address, Size, Stack, Category),
        LiveOpKind.RemoveHeap => live.RemoveHeap(Address, out var r) ? r : "absent",
        LiveOpKind.UpdateCategory => live.UpdateCategory(Address, Category),
        LiveOpKind.InsertMapping => live.InsertMapping(Address, Size, Stack, Category),
        LiveOpKind.UnmapRange => live.RemoveMappingRange(Address, Size),
        LiveOpKind.LookupHeap => live.TryGetHeap(Address, out var h) ? h : "absent",
        _ => live.TryGetMapping(Address, out var m) ? m : "absent",
    };

    public object Apply(LiveModel model) => Kind switch
    {
        LiveOpKind.InsertHeap => model.InsertHeap(Address, Size, Stack, Category),
        LiveOpKind.RemoveHeap => model.RemoveHeap(Address, out var r) ? r : "absent",
        LiveOpKind.UpdateCategory => model.UpdateCategory(Address, Category),
        LiveOpKind.InsertMapping => model.InsertMapping(Address, Size, Stack, Category),
        LiveOpKind.UnmapRange => model.RemoveMappingRange(Address, Size),
        LiveOpKind.LookupHeap => model.Heap.TryGetValue(Address, out var h) ? h : "absent",
        _ => model.MappingContaining(Address) is { } m ? m : "absent",
    };

    /// <summary>
    /// A deterministic stream of operations from <paramref name="seed"/> with heavy address reuse
    /// (a pool of <paramref name="heapSlots"/> heap addresses, mappings within 96 pages) so that
    /// replacements, partial unmaps, splits and maps over mappings are all frequent.
    /// </summary>
    public static IEnumerable<LiveOp> Stream(int seed, int heapSlots = 400)
    {
        var random = new Random(seed);
        while (true)
        {
            var roll = random.Next(100);
            var heapAddress = HeapBase + (ulong)random.Next(heapSlots) * 16;
            var pageAddress = MapBase + (ulong)random.Next(96) * Page;
            yield return roll switch
            {
                < 38 => new LiveOp(LiveOpKind.InsertHeap, heapAddress, HeapSize(random), random.Next(1, 5000), random.Next(0, 40)),
                < 70 => new LiveOp(LiveOpKind.RemoveHeap, heapAddress, 0, 0, 0),
                < 74 => new LiveOp(LiveOpKind.UpdateCategory, random.Next(4) == 0 ? pageAddress : heapAddress, 0, 0, random.Next(0, 65536)),
                < 85 => new LiveOp(LiveOpKind.InsertMapping, pageAddress, (ulong)random.Next(1, 14 * 4096), random.Next(1, 5000), random.Next(0, 40)),
                < 96 => new LiveOp(LiveOpKind.UnmapRange, pageAddress, (ulong)random.Next(1, 10 * 4096), 0, 0),
                < 98 => new LiveOp(LiveOpKind.LookupHeap, heapAddress, 0, 0, 0),
                _ => new LiveOp(LiveOpKind.LookupMapping, pageAddress + (ulong)random.Next(4096), 0, 0, 0),
            };
        }
    }

    private static ulong HeapSize(Random random) => random.Next(50) == 0
        ? (ulong)uint.MaxValue - 5 + (ulong)random.Next(100_000)
        : (ulong)random.Next(0, 4096);
}
