using Foom.Report.Callers;
using Foom.Report.Model;
using Foom.Server.Analysis;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>The UI rules of WeChat's monitor (docs/design.md) on a .NET target's managed census: view models, pages, images and views by type name.</summary>
public sealed class DotnetAnalysisTests
{
    private static readonly ReportAnalyzer Analyzer = new(CallerRules.Default);
    private const string ChatDllUuid = "path-0123456789abcdef0123456789abcdef";

    /// <summary>A managed census type, with a stack of managed frames as the report builder writes them.</summary>
    private static ReportItem Managed(string type, long size, long count, params string[] methods)
    {
        var item = new ReportItem { Name = type, Size = size, Count = count, Heap = ReportItem.ManagedHeapName };
        if (methods.Length == 0) return item;
        ulong address = 0x7f5a_0000_1000;
        var frames = methods.Select(m => Frame(ChatDllUuid, address += 0x80, m)).ToList();
        item.Stacks.Add(new ReportStack { Caller = $"{ChatDllUuid}@{frames[0].Offset}", Size = size, Count = count, Frames = frames, AllocationSamples = 40 });
        return item;
    }

    private static Report.Model.Report DotnetReport(string id, params ReportItem[] managed)
    {
        var report = Linux(id, footprint: 200L << 20, items: [Item("Malloc 16.00 KiB", 60L << 20, 3800, Stack(60L << 20, 3800, "decode_thumbnail", "main"))]);
        report.Items.AddRange(managed);
        report.Modules.Add(new ReportModule { Uuid = ChatDllUuid, Name = "Chat.dll", Path = "/opt/chat/Chat.dll", Base = 0, Size = 0 });
        report.Head.Managed = new ReportManaged
        {
            RuntimeVersion = "10.0.12",
            Census = new ReportCensus { Time = 1_760_000_050_000, FootprintBytes = 180L << 20, Trigger = "near_limit", Bytes = managed.Sum(i => i.Size), Count = managed.Sum(i => i.Count) },
        };
        return report;
    }

    [Fact]
    public void ThousandsOfOneViewModelTypeInTheCensusAreTheSuspectWithTheirAllocatingMethodAsCaller1()
    {
        var report = DotnetReport("n1",
            Managed("System.String", 40L << 20, 240_000, "System.String.Ctor(wchar,int32)", "Chat.Screen.LoadMessages(int64)", "Chat.App.Main()"),
            Managed("Chat.ViewModels.ChatMessageViewModel", 7L << 20, 120_000, "Chat.Screen.LoadMessages(int64)", "Chat.Screen.Open(int64)", "Chat.App.Main()"));
        var result = Analyzer.Analyze(report, BaselineCache.Snapshot.Empty);
        var eigen = result.Eigenvalue;
        Assert.Equal("Chat.ViewModels.ChatMessageViewModel", eigen.Category);
        Assert.Equal("ui_object_count", eigen.ReasonKind);
        Assert.Equal("120,000 objects; more than 2,000 view models is abnormal", eigen.Reason);
        Assert.Equal("Chat.Screen.LoadMessages(int64) (Chat.dll)", eigen.Caller1);
        Assert.Equal("Chat.Screen.Open(int64) (Chat.dll)", eigen.Caller2);
        Assert.Equal("caller:Chat.dll!Chat.Screen.LoadMessages(int64)", eigen.Level1Key);
        // The editable rule set has the .NET advice for it, and keeps WeChat's monitor's.
        var hints = HintRules.Default.Match(eigen.Category, eigen.Caller1, eigen.Caller2, eigen.ReasonKind).Select(h => h.Id).ToList();
        Assert.Contains("dotnet-screens-kept-alive", hints);
        Assert.Contains("retain-cycle-controllers", hints);
    }

    [Theory]
    [InlineData("Chat.Views.ConversationPage", 150, "pages")]
    [InlineData("Chat.MainWindow", 150, "pages")]
    [InlineData("Microsoft.Maui.Controls.Shell", 150, "pages")]
    [InlineData("Chat.ViewModels.ItemViewModel`1[System.String]", 3_000, "view models")]
    [InlineData("SkiaSharp.SKBitmap", 600, "images")]
    [InlineData("System.Windows.Media.Imaging.BitmapSource", 600, "images")]
    [InlineData("SixLabors.ImageSharp.Image`1[SixLabors.ImageSharp.PixelFormats.Rgba32]", 600, "images")]
    [InlineData("Avalonia.Controls.TextBlock", 12_000, "views")]
    [InlineData("System.Windows.Controls.Primitives.ToggleButton", 12_000, "views")]
    [InlineData("Chat.Controls.AvatarView", 12_000, "views")]
    public void DotnetScreensImagesAndControlsAreJudgedByTheirKind(string type, long count, string kind)
    {
        var report = DotnetReport("k-" + kind, Managed(type, count * 200, count));
        var suspect = Assert.Single(Analyzer.Analyze(report, BaselineCache.Snapshot.Empty).Suspects, s => s.ReasonKind == "ui_object_count");
        Assert.Equal(type, suspect.Category);
        Assert.EndsWith($" {kind} is abnormal", suspect.Reason);
    }

    [Theory]
    [InlineData("System.Collections.Generic.List`1[Chat.ViewModels.ChatMessageViewModel]", 50_000)]
    [InlineData("Chat.ViewModels.ChatMessageViewModel[]", 50_000)]
    [InlineData("System.Xml.XmlElement", 50_000)]
    [InlineData("Chat.ViewModels.ChatMessageViewModel", 1_999)]
    [InlineData("Chat.Views.ConversationPage", 99)]
    public void CollectionsAndArraysOfUiTypesOrFewOfThemAreNotSuspectByCount(string type, long count)
    {
        var report = DotnetReport("none", Managed(type, count * 64, count));
        Assert.DoesNotContain(Analyzer.Analyze(report, BaselineCache.Snapshot.Empty).Suspects, s => s.ReasonKind == "ui_object_count");
    }

    [Fact]
    public void TheDotnetHintIsForNamespacedTypesOnly()
    {
        var hints = HintRules.Default;
        Assert.DoesNotContain(hints.Match("ChatViewController", null, null, "ui_object_count"), h => h.Id == "dotnet-screens-kept-alive");
        Assert.DoesNotContain(hints.Match("System.Collections.Generic.List`1[Chat.ChatViewModel]", null, null, "ui_object_count"), h => h.Id == "dotnet-screens-kept-alive");
        Assert.Contains(hints.Match("Chat.Views.MainWindow", null, null, "count_above_baseline"), h => h.Id == "dotnet-screens-kept-alive");
    }
}
