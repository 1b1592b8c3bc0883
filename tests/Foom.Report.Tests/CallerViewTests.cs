using Foom.Report.Building;
using Foom.Report.Tests.Support;

namespace Foom.Report.Tests;

/// <summary>The caller view: one allocating function spread over many size classes is one line, with its callers, at the head of the report.</summary>
public class CallerViewTests
{
    private static readonly Dictionary<ulong, string> Names = new()
    {
        [0x2000] = "load_message", [0x2010] = "load_message", [0x3000] = "main", [0x4000] = "reader_thread", [0x5000] = "tiny",
    };

    private static Model.Report Build(TestHeap heap) => ReportAssembler.Assemble(heap.Heap, heap.Context, new ReportOptions
    {
        FindCaller = TestHeap.FirstAppFrame,
        Symbolize = (_, frames) =>
        {
            foreach (var (raw, frame, _) in frames)
                if (raw.ModuleId == 0 && Names.TryGetValue(raw.Offset, out var name)) frame.Function = name;
                else if (raw.ModuleId == 1) frame.Function = "malloc";
            return null;
        },
    });

    /// <summary>`foom report --format tree`: heaptrack_print's two trees, over every category at once.</summary>
    [Fact]
    public void TheCallTreeSumsAFunctionOverItsSizeClassesTopDownAndInverted()
    {
        var heap = new TestHeap();
        var fromMain = heap.Stack(0x2000, 0x3000);
        var fromReader = heap.Stack(0x2010, 0x4000);
        heap.Malloc(fromMain, 800, 10);
        heap.Malloc(fromMain, 4096, 3);
        heap.Malloc(fromReader, 96, 50);
        var report = Build(heap);

        var inverted = new StringWriter();
        Views.TreeView.Write(report, inverted, inverted: true, systemFrames: false);
        var lines = inverted.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("inverted call tree (allocating function first): 24.50 KiB in 63 blocks; allocator and runtime frames left out", lines[0]);
        // One line for load_message across three size categories and two callers, then its callers below it.
        Assert.Matches(@"^ *100\.0 % +24\.50 KiB +63  load_message \(app\)$", lines[1]);
        Assert.Matches(@"^ *80\.9 % +19\.81 KiB +13    main \(app\)$", lines[2]);
        Assert.Matches(@"^ *19\.1 % +4\.69 KiB +50    reader_thread \(app\)$", lines[3]);
        Assert.DoesNotContain(lines, line => line.Contains("malloc"));

        var topDown = new StringWriter();
        Views.TreeView.Write(report, topDown, inverted: false, systemFrames: true);
        var down = topDown.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^ *80\.9 % +19\.81 KiB +13  main \(app\)$", down[1]);
        Assert.Matches(@"^ *80\.9 % +19\.81 KiB +13    load_message \(app\)$", down[2]);
        Assert.Matches(@"^ *80\.9 % +19\.81 KiB +13      malloc \(libc\.so\.6\)$", down[3]);
    }

    [Fact]
    public void OneFunctionInManySizeClassesIsOneCallerWithItsTotalAcrossThem()
    {
        var heap = new TestHeap();
        var fromMain = heap.Stack(0x2000, 0x3000);
        var fromReader = heap.Stack(0x2010, 0x4000);
        var tiny = heap.Stack(0x5000, 0x3000);
        heap.Malloc(fromMain, 800, 10);
        heap.Malloc(fromMain, 752, 10);
        heap.Malloc(fromMain, 4096, 3);
        heap.Malloc(fromReader, 96, 50);
        heap.Malloc(tiny, 64, 5);

        var report = Build(heap);

        var callers = Assert.IsType<Model.ReportCallers>(report.Callers);
        Assert.Equal(heap.Heap.LiveBytes, callers.TotalBytes);
        Assert.Equal(heap.Heap.LiveCount, callers.TotalCount);
        Assert.Equal(2, callers.Callers);
        var top = callers.BottomUp[0];
        Assert.Equal("load_message", top.Function);
        Assert.Equal(800 * 10 + 752 * 10 + 4096 * 3 + 96 * 50, top.Size);
        Assert.Equal(73, top.Count);
        Assert.Equal(2, top.Stacks);
        Assert.True(top.Categories >= 3, $"load_message's blocks fall in {top.Categories} categories");
        Assert.True(report.Items.Count(i => i.Stacks.Any(s => s.CallerFunction == "load_message")) >= 2, "the size categories split it");
        Assert.Equal(["main", "reader_thread"], top.CalledFrom!.Select(c => c.Function));
        Assert.Equal(800 * 10 + 752 * 10 + 4096 * 3, top.CalledFrom![0].Size);
        Assert.Equal("tiny", callers.BottomUp[1].Function);
        Assert.Equal(callers.TotalBytes, callers.BottomUp.Sum(c => c.Size) + callers.UnlistedBytes);

        // The text report leads with it, before the categories.
        var text = ViewTests.Render(report);
        Assert.Contains("Live memory by caller", text);
        Assert.True(text.IndexOf("Live memory by caller", StringComparison.Ordinal) < text.IndexOf("Live memory by category", StringComparison.Ordinal));
        Assert.Contains("load_message (app)", text);
        // And the JSON carries it.
        Assert.Contains("\"bottom_up\"", System.Text.Encoding.UTF8.GetString(IO.ReportJson.ToUtf8(report)));
    }

    [Fact]
    public void AnUnnamedCallerIsItsFrameAndTheStacksNotListedAreCountedToo()
    {
        var heap = new TestHeap();
        // 40 stacks in one size class: the selection lists a few, the caller view counts all.
        for (ulong i = 0; i < 40; i++) heap.Malloc(heap.Stack(0x9000 + i * 16, 0x3000), 48, 2);
        var report = Build(heap);
        var callers = report.Callers!;
        Assert.Equal(40, callers.Callers);
        Assert.Equal(heap.Heap.LiveBytes, callers.BottomUp.Sum(c => c.Size) + callers.UnlistedBytes);
        Assert.Null(callers.BottomUp[0].Function);
        Assert.StartsWith(TestHeap.AppBuildId + "@", callers.BottomUp[0].Caller);
        Assert.True(report.Items.Sum(i => i.Stacks.Count) < 40, "the selection lists only some stacks");
    }
}
