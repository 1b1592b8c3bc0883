using Foom.Report.Building;
using Foom.Report.Model;
using Foom.Report.Tests.Support;

namespace Foom.Report.Tests;

/// <summary>The stack-selection rules of docs/report-format.md, each at its threshold.</summary>
public class SelectionTests
{
    private const long KiB = 1024;
    private const long MiB = 1024 * 1024;

    /// <summary>15 typed categories of 8 MiB and more, so that whatever comes next ranks 15 and below.</summary>
    private static void FifteenBigCategories(TestHeap heap)
    {
        for (var k = 0; k < 15; k++)
            heap.Typed(heap.Stack(0x9000 + (ulong)k), 1000 + k, $"Filler{k}", 8 * MiB + k * 16);
    }

    private static ReportItem Item(Model.Report report, string name) => report.Items.Single(i => i.Name == name);

    [Fact]
    public void CategoriesRankedBelow15ListTheirTop10StacksAndTheRestNone()
    {
        var heap = new TestHeap();
        for (var k = 0; k < 16; k++)
            for (var j = 0; j < 12; j++)
                heap.Malloc(heap.Stack(0x100 + (ulong)(k * 100 + j)), 1024 + 16 * k, times: 20 - j);
        var report = heap.Build();

        Assert.Equal(16, report.Items.Count);
        for (var rank = 0; rank < 15; rank++)
        {
            Assert.True(report.Items[rank].Size < MiB);
            Assert.Equal(10, report.Items[rank].Stacks.Count);
            // The ten biggest, biggest first.
            Assert.Equal(Enumerable.Range(0, 10).Select(j => (long)(20 - j)), report.Items[rank].Stacks.Select(s => s.Count));
        }
        Assert.Empty(report.Items[15].Stacks);
        Assert.Equal(12, report.Items[15].DistinctStacks);
        Assert.Equal(16 * 12 - 15 * 10, report.Head.Trimmed!.UnlistedStacks);
    }

    [Fact]
    public void ACategoryOfAtLeast1MiBListsStacksWhateverItsRank()
    {
        var heap = new TestHeap();
        FifteenBigCategories(heap);
        heap.Typed(heap.Stack(0x200), 1, "ExactlyOneMiB", 600 * KiB);
        heap.Typed(heap.Stack(0x201), 1, "ExactlyOneMiB", 424 * KiB);
        heap.Typed(heap.Stack(0x300), 2, "JustBelow", 600 * KiB);
        heap.Typed(heap.Stack(0x301), 2, "JustBelow", 424 * KiB - 16);
        var report = heap.Build();

        Assert.Equal(15, report.Items.IndexOf(Item(report, "ExactlyOneMiB")));
        Assert.Equal(MiB, Item(report, "ExactlyOneMiB").Size);
        Assert.Equal(2, Item(report, "ExactlyOneMiB").Stacks.Count);
        Assert.Equal(MiB - 16, Item(report, "JustBelow").Size);
        Assert.Empty(Item(report, "JustBelow").Stacks);
    }

    [Fact]
    public void ATopCategoryAlsoListsEveryStackOfAtLeast128KiB()
    {
        var heap = new TestHeap();
        for (var j = 0; j < 10; j++) heap.Typed(heap.Stack(0x100 + (ulong)j), 1, "Big", 300 * KiB - j * 16);
        heap.Typed(heap.Stack(0x200), 1, "Big", 128 * KiB);       // rank 10, exactly 128 KiB: listed
        heap.Typed(heap.Stack(0x201), 1, "Big", 128 * KiB - 16);  // rank 11: not
        heap.Typed(heap.Stack(0x202), 1, "Big", KiB);
        var report = heap.Build();

        var big = Item(report, "Big");
        Assert.Equal(11, big.Stacks.Count);
        Assert.Equal(128 * KiB, big.Stacks[^1].Size);
        Assert.Equal(13, big.DistinctStacks);
    }

    [Fact]
    public void AUiLikeCategoryListsItsTop5StacksByCountAndAnyHoldingAtLeast50()
    {
        var heap = new TestHeap();
        FifteenBigCategories(heap);
        // Counts and sizes in different orders: the rule ranks by count.
        int[] counts = [90, 80, 70, 60, 55, 50, 49, 2];
        long[] blockSizes = [16, 32, 48, 64, 80, 96, 4096, 65536];
        for (var j = 0; j < counts.Length; j++)
            heap.Typed(heap.Stack(0x500 + (ulong)j), 3, "ChatImageView", blockSizes[j], counts[j]);
        var report = heap.Build();

        var ui = Item(report, "ChatImageView");
        Assert.True(report.Items.IndexOf(ui) >= 15);
        Assert.True(ui.Count < 1000);
        Assert.Equal([90L, 80, 70, 60, 55, 50], ui.Stacks.Select(s => s.Count).Order().Reverse());
        // Listed stacks are still in size order.
        Assert.Equal(ui.Stacks.Select(s => s.Size).OrderDescending(), ui.Stacks.Select(s => s.Size));
    }

    [Theory]
    [InlineData(1000, true)]
    [InlineData(999, false)]
    public void ACategoryOfAtLeast1000BlocksIsVeryNumerous(int blocks, bool listsStacks)
    {
        var heap = new TestHeap();
        FifteenBigCategories(heap);
        var a = heap.Stack(0x600);
        var b = heap.Stack(0x601);
        heap.Typed(a, 4, "Node", 32, blocks - 10);
        heap.Typed(b, 4, "Node", 32, 10);
        var report = heap.Build();

        var node = Item(report, "Node");
        Assert.Equal(blocks, node.Count);
        if (listsStacks)
            Assert.Equal([blocks - 10L, 10], node.Stacks.Select(s => s.Count));  // top 5 by count: both
        else
            Assert.Empty(node.Stacks);
    }

    [Fact]
    public void FramesAreInnermostFirstAndCutAt64()
    {
        var heap = new TestHeap();
        var deep = heap.DeepStack(100, seed: 7);
        var shallow = heap.DeepStack(64, seed: 9);
        heap.Malloc(deep, 4096);
        heap.Malloc(shallow, 8192);
        var report = heap.Build();

        var deepStack = report.Items.Single(i => i.Name == "Malloc 4.00 KiB").Stacks.Single();
        Assert.Equal(64, deepStack.Frames.Count);
        Assert.Equal(36, deepStack.FramesCut);
        Assert.Equal(7UL * 0x1000, deepStack.Frames[0].Offset);       // innermost kept
        Assert.Equal(7UL * 0x1000 + 63 * 8, deepStack.Frames[63].Offset);
        var shallowStack = report.Items.Single(i => i.Name == "Malloc 8.00 KiB").Stacks.Single();
        Assert.Equal(64, shallowStack.Frames.Count);
        Assert.Null(shallowStack.FramesCut);
        Assert.Equal(1, report.Head.Trimmed!.DeepStacks);
        Assert.Equal(36, report.Head.Trimmed.DeepFrames);
    }

    [Fact]
    public void TheCallerIsWrittenAsUuidAtOffsetWithTheModulesThatFramesUse()
    {
        var heap = new TestHeap();
        var stack = heap.Stack(0x1234, 0x5678);
        heap.Malloc(stack, 100);
        var report = heap.Build();

        var listed = report.Items.Single().Stacks.Single();
        Assert.Equal($"{TestHeap.AppBuildId}@{0x1234}", listed.Caller);
        Assert.Equal(TestHeap.LibcBuildId, listed.Frames[0].Uuid);
        // The modules table: the main binary and libc, not the library no frame is in.
        Assert.Equal([TestHeap.AppBuildId, TestHeap.LibcBuildId], report.Modules.Select(m => m.Uuid));
        Assert.Equal("libc.so.6", report.Modules[1].Name);
    }

    [Fact]
    public void ByDefaultTheCallerSkipsAllocatorFramesByModuleAndByName()
    {
        var heap = new TestHeap();
        var stack = heap.Stack(0x1000, 0x2000, 0x3000);   // libc, then app frames
        heap.Malloc(stack, 100);
        var unnamed = ReportAssembler.Assemble(heap.Heap, heap.Context, new ReportOptions());
        Assert.Equal($"{TestHeap.AppBuildId}@{0x1000}", unnamed.Items[0].Stacks[0].Caller);
        Assert.Null(unnamed.Items[0].Stacks[0].CallerFunction);

        // Once frames have names, an app-side allocation wrapper (operator new) is skipped too.
        var named = ReportAssembler.Assemble(heap.Heap, heap.Context, new ReportOptions
        {
            Symbolize = (modules, frames) =>
            {
                Assert.Equal(heap.Modules, modules);
                foreach (var (raw, frame, _) in frames)
                    frame.Function = raw.Offset switch
                    {
                        0x1000 => "operator new(unsigned long)",
                        0x2000 => "Cache::grow(unsigned long)",
                        _ => null,
                    };
                return null;
            },
        });
        Assert.Equal($"{TestHeap.AppBuildId}@{0x2000}", named.Items[0].Stacks[0].Caller);
        Assert.Equal("Cache::grow(unsigned long)", named.Items[0].Stacks[0].CallerFunction);
    }
}
