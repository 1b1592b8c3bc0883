using Foom.Storage.Live;
using Foom.Storage.Tests.Support;
using Foom.Testing;

namespace Foom.Storage.Tests;

public class LiveAllocationsTests : IDisposable
{
    private const ulong Page = 4096;
    private const ulong MapBase = 0x7f00_0000_0000;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private LiveAllocations NewTable(int slots = 16) => LiveAllocations.Create(_dir.File(LiveAllocations.FileName), slots);

    [Fact]
    public void InsertedBlocksAreFoundAndRemovedWithTheirRecord()
    {
        using var live = NewTable();
        Assert.Equal(InsertOutcome.Inserted, live.InsertHeap(0x1000, 48, stackId: 7, categoryId: 3));
        Assert.Equal(InsertOutcome.Inserted, live.InsertHeap(0x2000, 1024, stackId: 9));
        Assert.True(live.TryGetHeap(0x1000, out var found));
        Assert.Equal(new LiveAllocation(0x1000, 48, 7, 3, AllocationKind.Heap), found);
        Assert.False(live.TryGetHeap(0x1008, out _));

        Assert.True(live.RemoveHeap(0x1000, out var removed));
        Assert.Equal(found, removed);
        Assert.False(live.TryGetHeap(0x1000, out _));
        Assert.Equal(1, live.HeapCount);
        Assert.Equal(1024, live.HeapBytes);
    }

    [Fact]
    public void FreeOfAnAddressThatIsNotLiveIsCountedAndChangesNothing()
    {
        using var live = NewTable();
        live.InsertHeap(0x1000, 16, 1);
        Assert.False(live.RemoveHeap(0x2000));
        Assert.Equal(1, live.UnknownFreeCount);
        Assert.Equal(1, live.HeapCount);
    }

    [Fact]
    public void InsertAtALiveAddressReplacesTheOldRecordAndCountsTheMissedFree()
    {
        using var live = NewTable();
        live.InsertHeap(0x1000, 16, 1, 1);
        Assert.Equal(InsertOutcome.Replaced, live.InsertHeap(0x1000, 64, 2, 5));
        Assert.True(live.TryGetHeap(0x1000, out var a));
        Assert.Equal(new LiveAllocation(0x1000, 64, 2, 5, AllocationKind.Heap), a);
        Assert.Equal(1, live.HeapCount);
        Assert.Equal(64, live.HeapBytes);
        Assert.Equal(1, live.ReplacedHeapCount);
    }

    [Fact]
    public void CategoryCanBeSetAfterTheAllocation()
    {
        using var live = NewTable();
        live.InsertHeap(0x1000, 16, 1);
        Assert.True(live.UpdateCategory(0x1000, 42));
        Assert.False(live.UpdateCategory(0x3000, 42));
        Assert.True(live.TryGetHeap(0x1000, out var a));
        Assert.Equal(42, a.CategoryId);
    }

    [Theory]
    [InlineData(0x1001UL, 16UL, 0)] // not 8-aligned
    [InlineData(1UL << 48, 16UL, 0)] // above the 48-bit user address space
    [InlineData(0x1000UL, 16UL, 70000)] // category id beyond 16 bits
    [InlineData(0x1000UL, 1UL << 45, 0)] // 32 TiB: beyond 2^32 pages
    public void RecordsTheFormatCannotHoldAreRejectedAndCounted(ulong address, ulong size, int category)
    {
        using var live = NewTable();
        Assert.Equal(InsertOutcome.Rejected, live.InsertHeap(address, size, 1, category));
        Assert.Equal(1, live.RejectedCount);
        Assert.Equal(0, live.Count);
    }

    [Fact]
    public void HeapBlocksOf4GiBOrMoreAreKeptInWholePages()
    {
        using var live = NewTable();
        live.InsertHeap(0x1000, (5UL << 30) + 1, 1);
        live.InsertHeap(0x2000, uint.MaxValue, 1);
        Assert.True(live.TryGetHeap(0x1000, out var big));
        Assert.Equal((5UL << 30) + Page, big.Size);
        Assert.True(live.TryGetHeap(0x2000, out var exact));
        Assert.Equal((ulong)uint.MaxValue, exact.Size);
    }

    [Fact]
    public void UnmappingTheMiddleOfAMappingSplitsItInTwo()
    {
        using var live = NewTable();
        live.InsertMapping(MapBase, 10 * Page, stackId: 4, categoryId: 2);
        var outcome = live.RemoveMappingRange(MapBase + 3 * Page, 2 * Page);
        Assert.True(outcome.Split);
        Assert.Equal(2 * Page, outcome.BytesRemoved);
        Assert.Equal(
            [new(MapBase, 3 * Page, 4, 2, AllocationKind.Mapping), new(MapBase + 5 * Page, 5 * Page, 4, 2, AllocationKind.Mapping)],
            Enumerate(live));
        Assert.Equal(2, live.MappingCount);
        Assert.Equal((long)(8 * Page), live.MappingBytes);
    }

    [Fact]
    public void UnmappingAcrossSeveralMappingsTrimsTheEdgesAndRemovesTheInside()
    {
        using var live = NewTable();
        live.InsertMapping(MapBase, 4 * Page, 1);
        live.InsertMapping(MapBase + 4 * Page, 2 * Page, 2);
        live.InsertMapping(MapBase + 8 * Page, 1, 3); // one byte: rounded up to a page
        live.InsertMapping(MapBase + 10 * Page, 4 * Page, 4);
        var outcome = live.RemoveMappingRange(MapBase + 2 * Page, 10 * Page - 1);
        Assert.Equal(new RangeOutcome(Removed: 2, Trimmed: 2, Split: false, BytesRemoved: 2 * Page + 2 * Page + Page + 2 * Page), outcome);
        Assert.Equal(
            [new(MapBase, 2 * Page, 1, 0, AllocationKind.Mapping), new(MapBase + 12 * Page, 2 * Page, 4, 0, AllocationKind.Mapping)],
            Enumerate(live));
        Assert.True(live.TryGetMapping(MapBase + 13 * Page + 5, out var m));
        Assert.Equal(MapBase + 12 * Page, m.Address);
        Assert.False(live.TryGetMapping(MapBase + 5 * Page, out _));
    }

    [Fact]
    public void MappingOverExistingMappingsReplacesWhatWasThere()
    {
        using var live = NewTable();
        live.InsertMapping(MapBase, 8 * Page, 1);
        Assert.Equal(InsertOutcome.Replaced, live.InsertMapping(MapBase + 2 * Page, 2 * Page, 9, 5, out var replaced));
        Assert.True(replaced.Split);
        Assert.Equal(
            [
                new(MapBase, 2 * Page, 1, 0, AllocationKind.Mapping),
                new(MapBase + 2 * Page, 2 * Page, 9, 5, AllocationKind.Mapping),
                new(MapBase + 4 * Page, 4 * Page, 1, 0, AllocationKind.Mapping),
            ],
            Enumerate(live));
        Assert.Equal(1, live.ReplacedMappingCount);
        Assert.Equal((long)(8 * Page), live.MappingBytes);
    }

    [Fact]
    public void MisalignedMappingsAreRejected()
    {
        using var live = NewTable();
        Assert.Equal(InsertOutcome.Rejected, live.InsertMapping(MapBase + 8, Page, 1));
        Assert.Equal(InsertOutcome.Rejected, live.InsertMapping(MapBase, 0, 1));
        Assert.Equal(default, live.RemoveMappingRange(MapBase + 1, Page));
        Assert.Equal(3, live.RejectedCount);
    }

    [Fact]
    public void EnumerationYieldsEveryLiveHeapBlockAndMappingOnce()
    {
        using var live = NewTable();
        live.InsertHeap(0x9000, 16, 1);
        live.InsertMapping(0x4000, Page, 2);
        live.InsertHeap(0x1000, 16, 3);
        live.InsertMapping(0x10000, Page, 4);
        live.InsertHeap(0x4000, 8, 5); // a heap block at a mapping's address is a record of its own
        live.InsertHeap(0x5000, 8, 6);
        live.RemoveHeap(0x5000);
        Assert.Equal(new ulong[] { 0x1000, 0x4000, 0x4000, 0x9000, 0x10000 }, Enumerate(live).Select(a => a.Address));
        Assert.Equal(AllocationKind.Heap, Enumerate(live)[1].Kind);
        Assert.Equal(AllocationKind.Mapping, Enumerate(live)[2].Kind);
    }

    [Fact]
    public void RecordsCanBeRemovedWhileEnumerating()
    {
        using var live = NewTable();
        for (ulong i = 0; i < 1000; i++) live.InsertHeap(0x10000 + i * 16, 16, 1);
        live.InsertMapping(MapBase, 4 * Page, 2);
        var seen = 0;
        foreach (var a in live)
        {
            seen++;
            if (a.Kind == AllocationKind.Heap) Assert.True(live.RemoveHeap(a.Address));
            else live.RemoveMappingRange(a.Address, a.Size);
        }
        Assert.Equal(1001, seen);
        Assert.Equal(0, live.Count);
        Assert.Empty(Enumerate(live));
    }

    [Fact]
    public void TheTableGrowsAndReusesFreedSlots()
    {
        using var live = NewTable(slots: 16);
        for (ulong i = 0; i < 100_000; i++) live.InsertHeap(0x10000 + i * 16, 16, (int)(i % 100));
        Assert.Equal(100_000, live.HeapCount);
        var slots = live.SlotCount;
        for (ulong i = 0; i < 100_000; i += 2) Assert.True(live.RemoveHeap(0x10000 + i * 16));
        for (ulong i = 0; i < 50_000; i++) live.InsertHeap(0x1000_0000 + i * 32, 32, 1);
        Assert.Equal(slots, live.SlotCount); // every insert took a freed slot
        Assert.Equal(100_000, live.HeapCount);
        for (ulong i = 1; i < 100_000; i += 2)
        {
            Assert.True(live.TryGetHeap(0x10000 + i * 16, out var a));
            Assert.Equal((int)(i % 100), a.StackId);
        }
    }

    [Fact]
    public void ALiveAllocationCosts24BytesOfFile()
    {
        using var live = NewTable(slots: 16);
        for (ulong i = 0; i < 10_000; i++) live.InsertHeap(0x10000 + i * 16, 16, 1);
        Assert.Equal(4096 + 10_001 * 24, live.FileBytesUsed);
    }

    [Fact]
    public void AClosedTableReadsBackExactly()
    {
        var path = _dir.File(LiveAllocations.FileName);
        var model = new LiveModel();
        using (var live = LiveAllocations.Create(path, 16))
        {
            for (ulong i = 0; i < 1000; i++)
            {
                live.InsertHeap(0x10000 + i * 16, i, (int)i, (int)(i % 7));
                model.InsertHeap(0x10000 + i * 16, i, (int)i, (int)(i % 7));
            }
            live.InsertMapping(MapBase, 16 * Page, 3);
            model.InsertMapping(MapBase, 16 * Page, 3, 0);
            live.RemoveMappingRange(MapBase + Page, Page);
            model.RemoveMappingRange(MapBase + Page, Page);
        }
        var snapshot = LiveSnapshot.Read(path, writerRunning: false);
        Assert.Equal(WriterStatus.ClosedCleanly, snapshot.Status);
        Assert.Equal(model.All(), snapshot.Allocations.ToArray());
        Assert.Empty(snapshot.Notes);
    }

    [Fact]
    public void ATableWhoseWriterNeverClosedIsRebuiltFromTheInUseMarks()
    {
        var path = _dir.File(LiveAllocations.FileName);
        var live = LiveAllocations.Create(path, 16); // never disposed: as if the writer was killed
        for (ulong i = 0; i < 500; i++) live.InsertHeap(0x10000 + i * 16, 16, 1);
        for (ulong i = 0; i < 500; i += 3) live.RemoveHeap(0x10000 + i * 16);
        var snapshot = LiveSnapshot.Read(path, writerRunning: false);
        Assert.Equal(WriterStatus.Interrupted, snapshot.Status);
        Assert.Equal(live.HeapCount, snapshot.HeapCount);
        Assert.Contains(snapshot.Notes, n => n.Contains("did not close"));
        Assert.True(snapshot.TryFind(0x10000 + 16, out _));
        Assert.False(snapshot.TryFind(0x10000 + 3 * 16, out _));
    }

    [Fact]
    public void ReplacingALiveBlockKeepsItsSlotAndEveryOtherBlockFindable()
    {
        using var live = NewTable(slots: 16);
        for (ulong i = 0; i < 2000; i++) live.InsertHeap(0x10000 + i * 16, 16, 1);
        var slots = live.SlotCount;
        for (ulong i = 0; i < 2000; i += 7) Assert.Equal(InsertOutcome.Replaced, live.InsertHeap(0x10000 + i * 16, 100 + i, 2, 3));
        Assert.Equal(slots, live.SlotCount);
        Assert.Equal(2000, live.HeapCount);
        for (ulong i = 0; i < 2000; i++)
        {
            Assert.True(live.TryGetHeap(0x10000 + i * 16, out var a));
            Assert.Equal(i % 7 == 0 ? new LiveAllocation(0x10000 + i * 16, 100 + i, 2, 3, AllocationKind.Heap) : new LiveAllocation(0x10000 + i * 16, 16, 1, 0, AllocationKind.Heap), a);
        }
        Assert.Equal(2000 / 7 + 1, live.ReplacedHeapCount);
    }

    [Fact]
    public void UnknownFreesAmongLiveBlocksChangeNothing()
    {
        using var live = NewTable(slots: 16);
        for (ulong i = 0; i < 1000; i += 2) live.InsertHeap(0x10000 + i * 16, 16, 1);
        for (ulong i = 1; i < 1000; i += 2) Assert.False(live.RemoveHeap(0x10000 + i * 16)); // the gaps between live blocks
        Assert.False(live.RemoveHeap(0x10000 + 8)); // inside a live block, not its start
        Assert.Equal(501, live.UnknownFreeCount);
        Assert.Equal(500, live.HeapCount);
        for (ulong i = 0; i < 1000; i += 2) Assert.True(live.RemoveHeap(0x10000 + i * 16));
        Assert.Equal(0, live.HeapBytes);
        Assert.Empty(Enumerate(live));
    }

    [Fact]
    public void TheHeapIndexGrowsWithTheLiveBlocksAndNotWithTheFreedOnes()
    {
        using var live = NewTable(slots: 16);
        var initial = live.HeapIndexBytes;
        for (ulong round = 0; round < 50; round++)
        {
            for (ulong i = 0; i < 1000; i++) live.InsertHeap(0x1000_0000 + (round * 1000 + i) * 16, 16, 1);
            for (ulong i = 0; i < 1000; i++) Assert.True(live.RemoveHeap(0x1000_0000 + (round * 1000 + i) * 16));
        }
        // 1000 live at most: 2048 entries of 8 bytes hold them at most half full.
        Assert.Equal(2048 * 8, live.HeapIndexBytes);
        Assert.True(initial < live.HeapIndexBytes);
        for (ulong i = 0; i < 100_000; i++) live.InsertHeap(0x2000_0000 + i * 32, 32, 1);
        Assert.Equal(262_144 * 8, live.HeapIndexBytes);
        for (ulong i = 0; i < 100_000; i++) Assert.True(live.TryGetHeap(0x2000_0000 + i * 32, out _));
    }

    /// <summary>
    /// A writer killed in the middle of replacing a live block (its journal committed, its stores
    /// not yet applied), whose header counts were then left wrong: the writer that resumes
    /// completes the replacement, rebuilds the heap index from the in-use marks (the header's
    /// count only sizes it) and goes on as one writer that was never killed.
    /// </summary>
    [Fact]
    public void AResumedWriterRebuildsTheHeapIndexFromTheInUseMarks()
    {
        var path = _dir.File(LiveAllocations.FileName);
        var live = LiveAllocations.Create(path, 16);
        for (ulong i = 0; i < 5000; i++) live.InsertHeap(0x10000 + i * 16, 16 + i, (int)i);
        for (ulong i = 0; i < 5000; i += 3) live.RemoveHeap(0x10000 + i * 16);
        live.InsertMapping(MapBase, 4 * Page, 9);
        live.JournalStepHook = step => { if (step == 1) throw new OperationCanceledException("killed"); };
        Assert.Throws<OperationCanceledException>(() => live.InsertHeap(0x10000 + 16, 999, 77, 5));
        live.Abandon();
        using (var file = File.OpenWrite(path))
        {
            file.Position = 128; // LiveHeader.HeapCount: a killed writer's counts are never trusted
            file.Write(BitConverter.GetBytes(1L));
        }

        var notes = new List<string>();
        using var resumed = LiveAllocations.Resume(path, notes);
        Assert.Contains(notes, n => n.Contains("replacement of a live heap block was in flight"));
        Assert.Contains(notes, n => n.Contains("heap index, mapping tree, free list and counts were rebuilt"));
        Assert.Equal(5000 - 1667, resumed.HeapCount);
        Assert.True(resumed.TryGetHeap(0x10000 + 16, out var replaced));
        Assert.Equal(new LiveAllocation(0x10000 + 16, 999, 77, 5, AllocationKind.Heap), replaced);
        for (ulong i = 2; i < 5000; i++)
        {
            var found = resumed.TryGetHeap(0x10000 + i * 16, out var a);
            Assert.Equal(i % 3 != 0, found);
            if (found) Assert.Equal((int)i, a.StackId);
        }
        Assert.True(resumed.TryGetMapping(MapBase + Page, out _));
        // It goes on: a free of every live block and an insert of every removed one.
        for (ulong i = 1; i < 5000; i++)
        {
            if (i % 3 == 0) Assert.Equal(InsertOutcome.Inserted, resumed.InsertHeap(0x10000 + i * 16, 8, 1));
            else Assert.True(resumed.RemoveHeap(0x10000 + i * 16));
        }
        Assert.Equal(1666, resumed.HeapCount);
        Assert.Equal(1666 * 8, resumed.HeapBytes);
        Assert.Equal(0, resumed.UnknownFreeCount);
    }

    [Fact]
    public void ResumingAFileWithTwoLiveHeapRecordsAtOneAddressNamesThemAndTheFile()
    {
        var path = _dir.File(LiveAllocations.FileName);
        using (var live = LiveAllocations.Create(path, 16))
        {
            live.InsertHeap(0x1000, 16, 1);
            live.InsertHeap(0x2000, 16, 1);
        }
        var bytes = File.ReadAllBytes(path);
        bytes.AsSpan(4096 + 24, 16).CopyTo(bytes.AsSpan(4096 + 48)); // slot 2 becomes a copy of slot 1
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<SessionFormatException>(() => LiveAllocations.Resume(path, []));
        Assert.Equal(path, error.FilePath);
        Assert.Contains("two live heap records have the address 0x1000 (slots 1 and 2)", error.Message);
    }

    /// <summary>The table's live allocations in address order, a heap block before a mapping at the same address (as <see cref="LiveModel.All"/>).</summary>
    internal static List<LiveAllocation> Enumerate(LiveAllocations live)
    {
        var list = new List<LiveAllocation>();
        foreach (var a in live) list.Add(a);
        return [.. list.OrderBy(a => a.Address).ThenBy(a => a.Kind)];
    }
}

public class LiveReadWhileWritingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// The hardest case for a reader beside a running writer: one address freed, reused and
    /// replaced over and over, so the same slot changes constantly. Every record the writer makes
    /// has size = stack × 8 and category = stack % 1000: a record torn between two writes breaks it.
    /// </summary>
    [Fact]
    public void ASlotRewrittenConstantlyIsNeverReadTorn()
    {
        var path = _dir.File(LiveAllocations.FileName);
        using var live = LiveAllocations.Create(path, 16);
        using var stop = new CancellationTokenSource();
        var writer = new Thread(() =>
        {
            var stack = 1;
            while (!stop.IsCancellationRequested)
            {
                for (ulong a = 0; a < 4; a++)
                {
                    stack = stack % 100_000 + 1;
                    live.InsertHeap(0x1000 + a * 16, (ulong)stack * 8, stack, stack % 1000);
                    stack = stack % 100_000 + 1;
                    live.InsertHeap(0x1000 + a * 16, (ulong)stack * 8, stack, stack % 1000); // replaces in place
                }
                for (ulong a = 0; a < 4; a++) live.RemoveHeap(0x1000 + a * 16);
            }
        });
        writer.Start();
        try
        {
            using var file = Mapping.MappedFile.OpenReadOnly(path, Mapping.TableKind.Live);
            var records = 0;
            var deadline = DateTime.UtcNow.AddSeconds(2);
            while (DateTime.UtcNow < deadline)
            {
                var snapshot = LiveSnapshot.Read(file, writerRunning: true);
                foreach (var a in snapshot.Allocations)
                {
                    Assert.Equal(a.StackId % 1000, a.CategoryId);
                    Assert.Equal((ulong)a.StackId * 8, a.Size);
                    records++;
                }
            }
            Assert.True(records > 1000, $"only {records} records read");
        }
        finally
        {
            stop.Cancel();
            writer.Join();
        }
    }
}
