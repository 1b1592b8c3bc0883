using Foom.Report.Callers;
using Foom.Server.Analysis;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>Suspects, eigenvalues and baselines, on reports built in memory.</summary>
public sealed class AnalysisTests
{
    private static readonly ReportAnalyzer Analyzer = new(CallerRules.Default);

    [Fact]
    public void AbnormalViewControllerCountsBeatASmallShareAndNameTheirStack()
    {
        var report = Linux("a", footprint: 1L << 30, items:
        [
            Item("Malloc 16 Bytes", 200L << 20, 100, Stack(200L << 20, 100, "buffer_pool_grow", "main")),
            Item("ChatViewController", 50L << 20, 450, Stack(40L << 20, 400, "open_chat", "on_tap"), Stack(10L << 20, 50, "restore", "main")),
        ]);
        var result = Analyzer.Analyze(report, BaselineCache.Snapshot.Empty);
        var eigen = result.Eigenvalue;
        Assert.Equal("ChatViewController", eigen.Category);
        Assert.Equal("ui_object_count", eigen.ReasonKind);
        Assert.Equal("open_chat (demo)", eigen.Caller1);
        Assert.Equal("on_tap (demo)", eigen.Caller2);
        Assert.Contains("450 objects", eigen.Reason);
        Assert.Equal("caller:demo!open_chat", eigen.Level1Key);
    }

    [Fact]
    public void WithoutSuspectsTheLargestCategoryClassifiesTheReport()
    {
        var report = Linux("b", footprint: 100L << 20, items: [Item("Malloc 64 Bytes", 10L << 20, 5, Stack(10L << 20, 5, "parse"))]);
        var eigen = Analyzer.Analyze(report, BaselineCache.Snapshot.Empty).Eigenvalue;
        Assert.Equal("largest_category", eigen.ReasonKind);
        Assert.Equal("10 MiB, the largest category (10 % of the footprint)", eigen.Reason);
        Assert.Equal("scene: main", eigen.Caller2);
    }

    [Fact]
    public void OneFunctionSpreadOverSizeClassesIsTheEigenvalueWithItsShareOfTheLiveHeap()
    {
        // Built by the report assembler: load_message allocates in 7 size classes, none of
        // which holds 30 % of the footprint; one small other function.
        var heap = new Foom.Report.Building.LiveHeap();
        var frames = new Dictionary<uint, Foom.Report.Building.RawFrame[]>
        {
            [1] = [new(1, 0x9a0e0), new(0, 0x2000), new(0, 0x3000)],
            [2] = [new(1, 0x9a0e0), new(0, 0x5000), new(0, 0x3000)],
        };
        long[] sizes = [800, 752, 640, 512, 384, 256, 128];
        foreach (var size in sizes)
            for (var i = 0; i < 10_000; i++) heap.Add(Foom.Report.Building.BlockKind.Malloc, 0, 1, size);
        for (var i = 0; i < 100; i++) heap.Add(Foom.Report.Building.BlockKind.Malloc, 0, 2, 64);
        var context = new Foom.Report.Building.HeapContext
        {
            CategoryName = _ => "",
            Frames = id => frames[id],
            Modules =
            [
                new(0, "/opt/app/bin/demo", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", 0x5555_0000_0000, 0x20_0000, IsMain: true),
                new(1, "/usr/lib/x86_64-linux-gnu/libc.so.6", "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00", 0x7f00_0000_0000, 0x1c_0000, IsMain: false),
            ],
        };
        var report = Foom.Report.Building.ReportAssembler.Assemble(heap, context, new Foom.Report.Building.ReportOptions
        {
            Symbolize = (_, toName) =>
            {
                foreach (var (raw, frame, _) in toName)
                    frame.Function = (raw.ModuleId, raw.Offset) switch
                    {
                        (1, _) => "malloc",
                        (0, 0x2000) => "load_message",
                        (0, 0x3000) => "main",
                        (0, 0x5000) => "tiny",
                        _ => null,
                    };
                return null;
            },
        }, new Foom.Report.Model.ReportHead { Platform = "linux", FootprintBytes = 60L << 20 });
        Assert.True(report.Items.Count >= 7, $"{report.Items.Count} size categories");

        var eigen = Analyzer.Analyze(report, BaselineCache.Snapshot.Empty).Eigenvalue;
        Assert.Equal("caller_share", eigen.ReasonKind);
        Assert.Equal("load_message (demo)", eigen.Caller1);
        Assert.Equal("caller:demo!load_message", eigen.Level1Key);
        Assert.Equal("main (demo)", eigen.Caller2);
        Assert.Equal(sizes.Sum() * 10_000, eigen.SuspectSize);
        Assert.Equal("load_message holds 33.1 MiB, 100 % of the live heap, in 7 categories", eigen.Reason);
    }

    [Fact]
    public void ACategoryWithoutStacksIsClassifiedByCategory()
    {
        var report = Linux("c", items: [Item("VM: anonymous", 900L << 20, 3)]);
        var eigen = Analyzer.Analyze(report, BaselineCache.Snapshot.Empty).Eigenvalue;
        Assert.Null(eigen.Caller1);
        Assert.Equal("category:VM: anonymous", eigen.Level1Key);
    }

    [Fact]
    public void TheSameEigenvalueGroupsReportsWhoseFiguresDiffer()
    {
        var a = Analyzer.Analyze(Linux("d1", items: [Item("Malloc 1.00 MiB", 300L << 20, 300, Stack(300L << 20, 300, "decode_image", "show"))]), BaselineCache.Snapshot.Empty).Eigenvalue;
        var b = Analyzer.Analyze(Linux("d2", items: [Item("Malloc 1.00 MiB", 700L << 20, 700, Stack(700L << 20, 700, "decode_image", "show"))]), BaselineCache.Snapshot.Empty).Eigenvalue;
        var c = Analyzer.Analyze(Linux("d3", items: [Item("Malloc 1.00 MiB", 700L << 20, 700, Stack(700L << 20, 700, "decode_image", "prefetch"))]), BaselineCache.Snapshot.Empty).Eigenvalue;
        Assert.NotEqual(a.Reason, b.Reason);
        Assert.Equal(a.IssueKey, b.IssueKey);
        Assert.Equal(a.Level1Key, c.Level1Key);
        Assert.NotEqual(a.IssueKey, c.IssueKey);
    }

    [Fact]
    public void TheBaselineFlagsACategoryFarAboveItsVersionsMedianRobustly()
    {
        var baseline = new BaselineCache((_, _) => []).For("app", "1.0");
        var random = new Random(7);
        for (var i = 0; i < 60; i++)
            baseline.Add([new CategoryAmount("Contact", (20L << 20) + random.Next(1 << 20), 1000 + random.Next(100)), new CategoryAmount("Malloc 32 Bytes", 50L << 20, 100_000)]);
        // Two wild reports in the baseline do not move the median and MAD (a mean would move).
        baseline.Add([new CategoryAmount("Contact", 2L << 30, 900_000)]);
        baseline.Add([new CategoryAmount("Contact", 2L << 30, 900_000)]);
        var snapshot = baseline.Current;
        Assert.Equal(62, snapshot.Reports);
        var contact = snapshot.Categories["Contact"];
        Assert.InRange(contact.Size.Median, 20L << 20, 21L << 20);
        Assert.InRange(contact.Count.Median, 1000, 1100);

        var normal = Linux("n", footprint: 1L << 30, items: [Item("Contact", 21L << 20, 1050, Stack(21L << 20, 1050, "load_contacts"))]);
        Assert.DoesNotContain(Analyzer.Analyze(normal, snapshot).Suspects, s => s.ReasonKind.EndsWith("baseline"));

        var grown = Linux("g", footprint: 4L << 30, items: [Item("Contact", 300L << 20, 20_000, Stack(300L << 20, 20_000, "load_contacts"))]);
        var suspects = Analyzer.Analyze(grown, snapshot).Suspects;
        var bySize = Assert.Single(suspects, s => s.ReasonKind == "size_above_baseline");
        Assert.Contains("median 20", bySize.Reason);
        var byCount = Assert.Single(suspects, s => s.ReasonKind == "count_above_baseline");
        Assert.StartsWith("20,000 objects, p99 is", byCount.Reason);
    }

    [Fact]
    public void RobustStatsAreMedianMadAndP99()
    {
        var stats = RobustStats.Of([1, 2, 3, 4, 100]);
        Assert.Equal(3, stats.Median);
        Assert.Equal(1, stats.Mad);
        Assert.Equal(100, stats.P99);
    }

    [Fact]
    public void HintsMatchWeChatsKnownCauses()
    {
        var hints = HintRules.Default;
        Assert.Contains(hints.Match("UIImage", "-[UIImage drawInRect:] (UIKitCore)", null, "ui_object_count"), h => h.Id == "big-image-decode");
        Assert.Contains(hints.Match("ChatViewController", null, null, "ui_object_count"), h => h.Id == "retain-cycle-controllers");
        Assert.Contains(hints.Match("Malloc 1.00 MiB", "LruCache::put (app)", null, "share_of_footprint"), h => h.Id == "unbounded-cache");
        Assert.Contains(hints.Match("VM: anonymous", "WebCore::Document::create", null, "largest_category"), h => h.Id == "web-view");
        Assert.Empty(hints.Match("Malloc 48 Bytes", "main (app)", null, "share_of_footprint"));
        var error = Assert.Throws<InvalidDataException>(() => HintRules.Parse("""{"hints":[{"id":"x","title":"t","advice":"a"}]}""", "hints.json"));
        Assert.Contains("no pattern", error.Message);
    }
}
