using Foom.Storage.Live;

namespace Foom.Storage.Tests.Support;

/// <summary>
/// The plain reference for LiveAllocations: two sorted dictionaries and the obvious rules for
/// maps and unmaps over page ranges. The property and recovery tests compare the engine with it.
/// </summary>
internal sealed class LiveModel
{
    private const ulong Page = 4096;
    public SortedDictionary<ulong, LiveAllocation> Heap { get; } = new();
    public SortedDictionary<ulong, LiveAllocation> Mappings { get; } = new();

    public static ulong StoredHeapSize(ulong size) => size > uint.MaxValue ? (size + Page - 1) / Page * Page : size;

    public InsertOutcome InsertHeap(ulong address, ulong size, int stack, int category)
    {
        var replaced = Heap.ContainsKey(address);
        Heap[address] = new LiveAllocation(address, StoredHeapSize(size), stack, category, AllocationKind.Heap);
        return replaced ? InsertOutcome.Replaced : InsertOutcome.Inserted;
    }

    public bool RemoveHeap(ulong address, out LiveAllocation removed) => Heap.Remove(address, out removed);

    public bool UpdateCategory(ulong address, int category)
    {
        if (Heap.TryGetValue(address, out var a)) { Heap[address] = a with { CategoryId = category }; return true; }
        if (Mappings.TryGetValue(address, out var m)) { Mappings[address] = m with { CategoryId = category }; return true; }
        return false;
    }

    public LiveAllocation? MappingContaining(ulong address) =>
        Mappings.Values.Where(m => m.Address <= address && m.End > address).Select(m => (LiveAllocation?)m).FirstOrDefault();

    public InsertOutcome InsertMapping(ulong address, ulong length, int stack, int category)
    {
        var end = address + (length + Page - 1) / Page * Page;
        var touched = Unmap(address, end);
        Mappings[address] = new LiveAllocation(address, end - address, stack, category, AllocationKind.Mapping);
        return touched.Touched ? InsertOutcome.Replaced : InsertOutcome.Inserted;
    }

    public RangeOutcome RemoveMappingRange(ulong address, ulong length) =>
        Unmap(address, address + (length + Page - 1) / Page * Page);

    private RangeOutcome Unmap(ulong start, ulong end)
    {
        int removed = 0, trimmed = 0;
        var split = false;
        ulong bytes = 0;
        foreach (var m in Mappings.Values.Where(m => m.Address < end && m.End > start).ToList())
        {
            Mappings.Remove(m.Address);
            if (m.Address < start && m.End > end)
            {
                split = true;
                Mappings[m.Address] = m with { Size = start - m.Address };
                Mappings[end] = m with { Address = end, Size = m.End - end };
                bytes += end - start;
            }
            else if (m.Address < start)
            {
                trimmed++;
                Mappings[m.Address] = m with { Size = start - m.Address };
                bytes += m.End - start;
            }
            else if (m.End > end)
            {
                trimmed++;
                Mappings[end] = m with { Address = end, Size = m.End - end };
                bytes += end - m.Address;
            }
            else
            {
                removed++;
                bytes += m.Size;
            }
        }
        return new RangeOutcome(removed, trimmed, split, bytes);
    }

    /// <summary>Everything live, in the order LiveSnapshot and the enumerator give: address, then heap before mapping.</summary>
    public List<LiveAllocation> All() =>
        Heap.Values.Concat(Mappings.Values).OrderBy(a => a.Address).ThenBy(a => a.Kind).ToList();

    public LiveModel Clone()
    {
        var copy = new LiveModel();
        foreach (var (k, v) in Heap) copy.Heap[k] = v;
        foreach (var (k, v) in Mappings) copy.Mappings[k] = v;
        return copy;
    }
}
