using Foom.Storage.Mapping;
using static Foom.Storage.Live.LiveRecordFormat;

namespace Foom.Storage.Live;

/// <summary>
/// The live allocations of a session as a reader sees them: every live record of live.foom,
/// sorted by address, found by scanning the node array for in-use marks. Tree links are never
/// followed, so a writer killed in the middle of a rotation costs nothing: the scan is the
/// rebuild.
///
/// Three cases, told apart by the writer lock and the header:
/// <list type="bullet">
/// <item>the writer closed the file: the scan is exact, and must agree with the header's counts;</item>
/// <item>the writer died (SIGKILL, crash): an operation in the journal is completed first, so the
/// one operation that was in flight comes out wholly applied or wholly not;</item>
/// <item>the writer is still running: each record is read with a check that no more than one
/// operation completed while it was read, so every record is whole and was live at some instant
/// of the scan; records changed during the scan may be missing or seen twice (the later kept).</item>
/// </list>
/// </summary>
public sealed class LiveSnapshot
{
    private readonly LiveAllocation[] _allocations;

    private LiveSnapshot(LiveAllocation[] allocations, WriterStatus status, long operations, IReadOnlyList<string> notes)
    {
        _allocations = allocations;
        Status = status;
        OperationCount = operations;
        Notes = notes;
        foreach (var a in allocations)
        {
            if (a.Kind == AllocationKind.Heap) { HeapCount++; HeapBytes += (long)a.Size; }
            else { MappingCount++; MappingBytes += (long)a.Size; }
        }
    }

    /// <summary>Live allocations in address order (a heap block before a mapping at the same address).</summary>
    public ReadOnlySpan<LiveAllocation> Allocations => _allocations;

    public int Count => _allocations.Length;
    public long HeapCount { get; }
    public long HeapBytes { get; }
    public long MappingCount { get; }
    public long MappingBytes { get; }
    public WriterStatus Status { get; }

    /// <summary>Operations the writer had completed (its commit counter) when the scan ended.</summary>
    public long OperationCount { get; }

    /// <summary>What the read found and did, one sentence each.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The live allocation that starts at <paramref name="address"/> (a heap block first).</summary>
    public bool TryFind(ulong address, out LiveAllocation allocation)
    {
        int lo = 0, hi = _allocations.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var a = _allocations[mid].Address;
            if (a < address) lo = mid + 1;
            else hi = mid - 1;
        }
        if (lo < _allocations.Length && _allocations[lo].Address == address)
        {
            allocation = _allocations[lo];
            return true;
        }
        allocation = default;
        return false;
    }

    /// <summary>Reads live.foom at <paramref name="path"/>; <paramref name="writerRunning"/> from the session's writer lock.</summary>
    public static LiveSnapshot Read(string path, bool writerRunning)
    {
        using var file = MappedFile.OpenReadOnly(path, TableKind.Live);
        return Read(file, writerRunning);
    }

    internal static unsafe LiveSnapshot Read(MappedFile file, bool writerRunning)
    {
        ref var header = ref file.Header;
        var live = (LiveHeader*)file.TableHeader;
        var nodes = (LiveNode*)file.Records;
        var notes = new List<string>();
        var closed = Volatile.Read(ref header.WriterState) == WriterStates.ClosedCleanly;
        var status = writerRunning ? WriterStatus.Running : closed ? WriterStatus.ClosedCleanly : WriterStatus.Interrupted;

        // The high-water mark bounds the scan; a running writer may have grown the file past our mapping.
        var slots = Volatile.Read(ref header.Count);
        if (writerRunning) slots = Math.Min(slots, file.MappedCapacity);
        if (slots > int.MaxValue) throw file.Fault($"the header says {slots} slots are in use, more than a table can hold: corrupt header");

        // A journal left by a dead writer is the one operation that was in flight: complete it.
        var journal = live->Journal;
        var redo = !writerRunning && journal.Sequence != 0;
        if (redo)
        {
            if (closed) throw file.Fault("the writer closed the file cleanly but its journal still holds an operation: corrupt header");
            CheckJournal(file, journal, slots);
        }

        var records = new List<LiveAllocation>((int)Math.Min(slots, 1 << 20));
        var retries = 0L;
        var rangeRemoved = 0;
        for (var i = 1; i < slots; i++)
        {
            ulong word, payload;
            if (writerRunning)
            {
                if (!TryReadWhileWriting(ref header.CommitCounter, ref nodes[i], out word, out payload, ref retries)) continue;
            }
            else
            {
                word = nodes[i].Word;
                payload = nodes[i].Payload;
                if (redo) ApplyJournal(journal, i, ref word, ref payload);
                if (!IsLive(word)) continue;
                if (redo && journal.Kind == Journal.KindRange && i != journal.KeepSlot && (word & MappingFlag) != 0)
                {
                    var start = Key(word);
                    if (start >= journal.RangeStart && start + Size(word, payload) <= journal.RangeEnd)
                    {
                        rangeRemoved++;
                        continue;
                    }
                }
            }
            CheckRecord(file, i, word, payload);
            records.Add(Unpack(word, payload));
        }
        var operations = Volatile.Read(ref header.CommitCounter);

        var allocations = records.ToArray();
        Array.Sort(allocations, static (a, b) => a.Address != b.Address ? a.Address.CompareTo(b.Address) : a.Kind.CompareTo(b.Kind));
        allocations = writerRunning ? DropDuplicates(allocations, notes) : CheckNoOverlaps(file, allocations);

        switch (status)
        {
            case WriterStatus.Running:
                notes.Add($"The writer is still running: {allocations.Length:N0} live records read by scanning {slots - 1:N0} slots " +
                          $"while it completed operations up to {operations:N0}; each record is whole, but allocations " +
                          "made or freed during the scan may be missing.");
                if (retries > 0) notes.Add($"{retries:N0} record reads overlapped a write and were repeated.");
                break;
            case WriterStatus.ClosedCleanly:
                CheckCounts(file, *live, allocations);
                break;
            case WriterStatus.Interrupted:
                notes.Add($"The writer did not close the file (killed or crashed after {operations:N0} operations): " +
                          $"{allocations.Length:N0} live records rebuilt by scanning {slots - 1:N0} slots for in-use marks; tree links ignored.");
                if (redo)
                    notes.Add(journal.Kind == Journal.KindRange
                        ? $"An operation on mappings in 0x{journal.RangeStart:x}-0x{journal.RangeEnd:x} was in flight: completed from the journal" +
                          (rangeRemoved > 0 ? $" ({rangeRemoved} mapping(s) inside it removed)." : ".")
                        : "A replacement of a live heap block was in flight: completed from the journal.");
                break;
        }
        return new LiveSnapshot(allocations, status, operations, notes);
    }

    /// <summary>
    /// Reads one slot while the writer may be changing it: the Word before and after the Payload
    /// must agree, and at most one operation may complete meanwhile (two could free the slot and
    /// reuse it with an equal Word but another Payload). False when the slot is not live.
    /// </summary>
    private static bool TryReadWhileWriting(ref long counter, ref LiveNode node, out ulong word, out ulong payload, ref long retries)
    {
        while (true)
        {
            var before = Volatile.Read(ref counter);
            word = Volatile.Read(ref node.Word);
            if (!IsLive(word))
            {
                payload = 0;
                return false;
            }
            payload = Volatile.Read(ref node.Payload);
            var again = Volatile.Read(ref node.Word);
            var after = Volatile.Read(ref counter);
            if (again == word && after - before <= 1) return true;
            retries++;
            if ((retries & 63) == 0) Thread.Yield();
        }
    }

    private static void ApplyJournal(in Journal journal, int slot, ref ulong word, ref ulong payload)
    {
        for (var s = 0; s < journal.StoreCount; s++)
        {
            var store = journal.Stores[s];
            if (store.Slot != slot) continue;
            if (store.Field == JournalStore.WordField) word = store.Value;
            else payload = store.Value;
        }
    }

    internal static void CheckJournal(MappedFile file, in Journal journal, long slots)
    {
        if (journal.Kind is not (Journal.KindStoresOnly or Journal.KindRange))
            throw file.Fault($"the journal holds an operation of unknown kind {journal.Kind}: corrupt header");
        if (journal.StoreCount is < 0 or > Journal.MaxStores)
            throw file.Fault($"the journal holds {journal.StoreCount} stores (at most {Journal.MaxStores}): corrupt header");
        for (var s = 0; s < journal.StoreCount; s++)
        {
            var store = journal.Stores[s];
            if (store.Slot <= 0 || store.Slot >= slots || store.Field is not (JournalStore.WordField or JournalStore.PayloadField))
                throw file.Fault($"the journal's store {s} names slot {store.Slot} field {store.Field}, outside the {slots} slots in use: corrupt header");
        }
        if (journal.Kind == Journal.KindRange && journal.RangeEnd <= journal.RangeStart)
            throw file.Fault($"the journal's range 0x{journal.RangeStart:x}-0x{journal.RangeEnd:x} is empty: corrupt header");
    }

    internal static void CheckRecord(MappedFile file, int slot, ulong word, ulong payload)
    {
        var mapping = (word & MappingFlag) != 0;
        if (mapping && ((word & PagesFlag) == 0 || (uint)payload == 0 || (Key(word) & (PageSize - 1)) != 0))
            throw file.Fault($"slot {slot} holds a mapping record that no writer makes (word 0x{word:x16}, payload 0x{payload:x16}): corrupt");
        if (!mapping && (word & PagesFlag) != 0 && (uint)payload <= (uint.MaxValue >> PageShift))
            throw file.Fault($"slot {slot} holds a heap record counted in pages but smaller than 4 GiB (word 0x{word:x16}): corrupt");
        if ((int)(payload >> 32) < 0)
            throw file.Fault($"slot {slot} names stack id {payload >> 32}, beyond any stack table: corrupt");
    }

    private static LiveAllocation[] CheckNoOverlaps(MappedFile file, LiveAllocation[] sorted)
    {
        var lastHeap = -1;
        var lastMapping = -1;
        for (var i = 0; i < sorted.Length; i++)
        {
            var a = sorted[i];
            if (a.Kind == AllocationKind.Heap)
            {
                if (lastHeap >= 0 && sorted[lastHeap].Address == a.Address)
                    throw file.Fault($"two live heap records have the address 0x{a.Address:x}: corrupt");
                lastHeap = i;
            }
            else
            {
                if (lastMapping >= 0 && sorted[lastMapping].End > a.Address)
                    throw file.Fault($"the live mappings at 0x{sorted[lastMapping].Address:x} and 0x{a.Address:x} overlap: corrupt");
                lastMapping = i;
            }
        }
        return sorted;
    }

    private static LiveAllocation[] DropDuplicates(LiveAllocation[] sorted, List<string> notes)
    {
        var kept = new List<LiveAllocation>(sorted.Length);
        var dropped = 0;
        foreach (var a in sorted)
        {
            if (kept.Count > 0 && kept[^1].Address == a.Address && kept[^1].Kind == a.Kind)
            {
                kept[^1] = a;
                dropped++;
                continue;
            }
            kept.Add(a);
        }
        if (dropped > 0) notes.Add($"{dropped} address(es) were freed and reused during the scan and were seen twice: one kept.");
        return dropped == 0 ? sorted : kept.ToArray();
    }

    private static void CheckCounts(MappedFile file, in LiveHeader header, LiveAllocation[] allocations)
    {
        long heap = 0, mappings = 0, heapBytes = 0, mappingBytes = 0;
        foreach (var a in allocations)
        {
            if (a.Kind == AllocationKind.Heap) { heap++; heapBytes += (long)a.Size; }
            else { mappings++; mappingBytes += (long)a.Size; }
        }
        if (heap != header.HeapCount || mappings != header.MappingCount || heapBytes != header.HeapBytes || mappingBytes != header.MappingBytes)
            throw file.Fault($"the header counts {header.HeapCount} heap blocks ({header.HeapBytes} bytes) and {header.MappingCount} mappings " +
                             $"({header.MappingBytes} bytes) but the records hold {heap} ({heapBytes} bytes) and {mappings} ({mappingBytes} bytes): corrupt");
    }
}

/// <summary>The state a reader found a session's writer in.</summary>
public enum WriterStatus
{
    /// <summary>The writer is still running: what is read is a consistent-per-record live view.</summary>
    Running,
    /// <summary>The writer closed the session: the read is exact.</summary>
    ClosedCleanly,
    /// <summary>The writer died without closing (SIGKILL, crash): the read was recovered by scanning.</summary>
    Interrupted,
}
