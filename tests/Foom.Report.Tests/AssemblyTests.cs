using CsCheck;
using Foom.Report.Building;
using Foom.Report.IO;
using Foom.Report.Model;
using Foom.Report.Tests.Support;

namespace Foom.Report.Tests;

/// <summary>Folding, sorting, the live totals and the size budget of the assembled report.</summary>
public class AssemblyTests
{
    private const long MiB = 1024 * 1024;

    private static void FifteenBigCategories(TestHeap heap)
    {
        for (var k = 0; k < 15; k++)
            heap.Typed(heap.Stack(0x9000 + (ulong)k), 1000 + k, $"Filler{k}", 8 * MiB + k * 16);
    }

    /// <summary>The report's invariants: totals add up, everything sorted, listed parts within their wholes.</summary>
    internal static void AssertConsistent(Model.Report report, long liveBytes, long liveCount)
    {
        Assert.Equal(liveBytes, report.Head.LiveBytes);
        Assert.Equal(liveCount, report.Head.LiveCount);
        Assert.Equal(liveBytes, report.Items.Sum(i => i.Size));
        Assert.Equal(liveCount, report.Items.Sum(i => i.Count));
        Assert.Equal(report.Items.Select(i => i.Size).OrderDescending(), report.Items.Select(i => i.Size));
        Assert.Equal(report.Items.Count, report.Items.Select(i => i.Name).Distinct().Count());
        foreach (var item in report.Items)
        {
            Assert.True(item.Stacks.Sum(s => s.Size) <= item.Size, item.Name);
            Assert.True(item.Stacks.Sum(s => s.Count) <= item.Count, item.Name);
            Assert.Equal(item.Stacks.Select(s => s.Size).OrderDescending(), item.Stacks.Select(s => s.Size));
            Assert.True(item.Stacks.Count <= (item.DistinctStacks ?? 0));
            if (item.Folded is not null) Assert.True(item.Folded.Sum(f => f.Size) <= item.Size);
        }
    }

    [Fact]
    public void ASingleStackSizeClassWithoutStacksOfItsOwnIsFoldedIntoTheBiggestHoldingItsStack()
    {
        var heap = new TestHeap();
        FifteenBigCategories(heap);
        var vectorGrowth = heap.Stack(0x700);
        var other = heap.Stack(0x701);
        heap.Malloc(vectorGrowth, 64, 40);
        heap.Malloc(other, 64, 30);
        heap.Malloc(vectorGrowth, 128, 20);
        heap.Malloc(other, 128, 1);
        heap.Malloc(vectorGrowth, 48, 3);      // only vectorGrowth: folded into "Malloc 64 Bytes", the biggest holding it
        heap.Malloc(heap.Stack(0x702), 80, 2); // single stack held nowhere else: stays
        var report = heap.Build();

        AssertConsistent(report, heap.Heap.LiveBytes, heap.Heap.LiveCount);
        Assert.DoesNotContain(report.Items, i => i.Name == "Malloc 48 Bytes");
        var target = report.Items.Single(i => i.Name == "Malloc 64 Bytes");
        var folded = Assert.Single(target.Folded!);
        Assert.Equal(("Malloc 48 Bytes", 144L, 3L), (folded.Name, folded.Size, folded.Count));
        Assert.Equal(70 * 64 + 144, target.Size);
        Assert.Null(report.Items.Single(i => i.Name == "Malloc 128 Bytes").Folded);
        Assert.Contains(report.Items, i => i.Name == "Malloc 80 Bytes");
    }

    [Fact]
    public void CategoriesThatListStacksTypesAndMappingsAreNeverFolded()
    {
        var heap = new TestHeap();
        var shared = heap.Stack(0x800);
        heap.Malloc(shared, 64, 100);
        heap.Malloc(heap.Stack(0x801), 64, 100);
        heap.Malloc(shared, 4096);                          // single stack, but ranked below 15: lists it
        heap.Typed(shared, 5, "Session", 48);               // a type: keeps its name
        heap.Mapping(shared, 6, "anonymous", 8192);         // a mapping kind: keeps its name
        var report = heap.Build();

        AssertConsistent(report, heap.Heap.LiveBytes, heap.Heap.LiveCount);
        Assert.Equal(["Malloc 64 Bytes", "VM: anonymous", "Malloc 4.00 KiB", "Session"], report.Items.Select(i => i.Name));
        Assert.All(report.Items, i => Assert.Null(i.Folded));
        Assert.Single(report.Items.Single(i => i.Name == "Malloc 4.00 KiB").Stacks);
    }

    [Fact]
    public void FoldingCanBeTurnedOff()
    {
        var heap = new TestHeap();
        FifteenBigCategories(heap);
        var stack = heap.Stack(0x900);
        heap.Malloc(stack, 64, 5);
        heap.Malloc(heap.Stack(0x901), 64, 5);
        heap.Malloc(stack, 48);
        var report = heap.Build(new ReportOptions { FoldSingleStackCategories = false, FindCaller = TestHeap.FirstAppFrame });
        Assert.Contains(report.Items, i => i.Name == "Malloc 48 Bytes");
    }

    [Fact]
    public void ItemTotalsAlwaysAddUpToTheLiveTotals()
    {
        var blocks = Gen.Select(Gen.Int[0, 39], Gen.Int[0, 2], Gen.Long[0, 6 * MiB], Gen.Int[0, 3])
            .Select((stack, kind, size, type) => (stack, kind, size, type))
            .Array[0, 3000];
        var budgets = Gen.OneOf(300_000L, 4_000L, 50L);
        Gen.Select(blocks, budgets).Sample((list, budget) =>
        {
            var heap = new TestHeap();
            var stacks = Enumerable.Range(0, 40).Select(i => heap.Stack(0x10 * (ulong)i, 0x20 * (ulong)i + 8)).ToArray();
            long expectedBytes = 0;
            foreach (var (stack, kind, size, type) in list)
            {
                // Sizes spread over every naming range: mostly small, some KiB, a few MiB.
                var spread = size % 7 == 0 ? size : size % 5 == 0 ? size % (512 * 1024) : size % 2048;
                if (kind == 1) spread %= 4096;
                expectedBytes += spread;
                switch (kind)
                {
                    case 0: heap.Malloc(stacks[stack], spread); break;
                    case 1: heap.Typed(stacks[stack], type, $"Type{type}", spread); break;
                    default: heap.Mapping(stacks[stack], type, $"kind{type}", spread); break;
                }
            }
            var report = heap.Build(new ReportOptions { BudgetGzipBytes = budget, FindCaller = TestHeap.FirstAppFrame });
            AssertConsistent(report, expectedBytes, list.Length);
            if (!report.Head.Trimmed!.OverBudget) Assert.True(ReportJson.GzipSize(report) <= budget);
        }, iter: 60);
    }

    [Fact]
    public void TheBudgetDropsTheLeastImportantStacksAndSaysSo()
    {
        var heap = new TestHeap();
        // 40 categories × 30 stacks of 64 frames each: far more than 60 KB gzip'ed.
        var random = new Random(42);
        for (var c = 0; c < 40; c++)
            for (var s = 0; s < 30; s++)
            {
                var stack = heap.DeepStack(64, seed: (ulong)random.Next(1, 1 << 20));
                heap.Typed(stack, c, $"Type{c:00}", 200 * 1024 + s * 1024 + c * 16, 1);
            }
        var untrimmed = heap.Build(new ReportOptions { BudgetGzipBytes = long.MaxValue, FindCaller = TestHeap.FirstAppFrame });
        var report = heap.Build(new ReportOptions { BudgetGzipBytes = 60_000, FindCaller = TestHeap.FirstAppFrame });

        var size = ReportJson.GzipSize(report);
        Assert.InRange(size, 1, 60_000);
        AssertConsistent(report, heap.Heap.LiveBytes, heap.Heap.LiveCount);
        var trimmed = report.Head.Trimmed!;
        var listedBefore = untrimmed.Items.Sum(i => i.Stacks.Count);
        var listedAfter = report.Items.Sum(i => i.Stacks.Count);
        Assert.True(listedAfter > 0);
        Assert.Equal(listedBefore - listedAfter, trimmed.BudgetStacks);
        Assert.Equal(untrimmed.Items.Sum(i => i.Stacks.Sum(s => s.Size)) - report.Items.Sum(i => i.Stacks.Sum(s => s.Size)), trimmed.BudgetBytes);
        Assert.Equal(60_000, trimmed.BudgetGzipBytes);
        // Every category keeps its totals; the biggest categories keep their biggest stack first.
        Assert.Equal(untrimmed.Items.Select(i => (i.Name, i.Size, i.Count)), report.Items.Select(i => (i.Name, i.Size, i.Count)));
        var firstWithout = report.Items.FindIndex(i => i.Stacks.Count == 0 && untrimmed.Items.Single(u => u.Name == i.Name).Stacks.Count > 0);
        if (firstWithout >= 0) Assert.All(report.Items.Skip(firstWithout), i => Assert.Empty(i.Stacks));
        // The dropped stacks are the small ones: nothing kept (beyond a category's first) is smaller than anything dropped.
        var keptOthers = report.Items.SelectMany(i => i.Stacks.Skip(1)).Select(s => s.Size).DefaultIfEmpty(long.MaxValue).Min();
        var droppedOthers = untrimmed.Items.Zip(report.Items)
            .SelectMany(pair => pair.First.Stacks.Skip(1).Skip(Math.Max(0, pair.Second.Stacks.Count - 1)))
            .Select(s => s.Size).DefaultIfEmpty(0).Max();
        Assert.True(keptOthers >= droppedOthers, $"kept {keptOthers} < dropped {droppedOthers}");
        // The budget is used, not wasted: within a few percent.
        Assert.True(size > 50_000, $"only {size} bytes of 60000 used");
    }

    [Fact]
    public void CategoriesAloneOverTheBudgetKeepEveryTotalAndSaySo()
    {
        var heap = new TestHeap();
        var stack = heap.Stack(0x10);
        for (var i = 0; i < 300; i++) heap.Typed(stack, i, $"SomeRatherLongTypeName{i}", 32);
        var report = heap.Build(new ReportOptions { BudgetGzipBytes = 500, FindCaller = TestHeap.FirstAppFrame });
        Assert.Equal(300, report.Items.Count);
        Assert.True(report.Head.Trimmed!.OverBudget);
        Assert.All(report.Items, i => Assert.Empty(i.Stacks));
        AssertConsistent(report, heap.Heap.LiveBytes, heap.Heap.LiveCount);
    }
}
