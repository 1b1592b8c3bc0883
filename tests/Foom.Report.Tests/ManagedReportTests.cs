using System.Text.Json;
using Foom.Report.Building;
using Foom.Report.Callers;
using Foom.Report.IO;
using Foom.Report.Model;
using Foom.Report.Tests.Support;
using Foom.Report.Views;
using Foom.Storage.Managed;

namespace Foom.Report.Tests;

/// <summary>A .NET target's managed census and sampled stacks in the report, beside its native categories.</summary>
public sealed class ManagedReportTests : IDisposable
{
    private const string ViewModel = "Chat.MessageViewModel";
    private readonly string _directory = Directory.CreateTempSubdirectory("foom-managed-report-").FullName;

    internal static ManagedHeap Managed() => new()
    {
        Status = new ManagedStatus { RuntimeVersion = "10.0.12", Diagnostics = "connected", CensusesTaken = 2, AllocationSampling = "allocation_sampled" },
        Census = new ManagedCensus
        {
            Time = 1_700_000_000_500, FootprintBytes = 150L << 20, LimitBytes = 200L << 20, Trigger = "warning:threshold",
            Bytes = 5_600_000 + 4_000_000 + 64_000 + 320 + 48, Count = 100_000 + 50_000 + 2_000 + 10 + 1, PauseMilliseconds = 12.5, TransferredBytes = 4_000_000,
            Types =
            [
                new ManagedTypeTotal { Name = ViewModel, Count = 100_000, Bytes = 5_600_000 },
                new ManagedTypeTotal { Name = "System.String", Count = 50_000, Bytes = 4_000_000 },
                new ManagedTypeTotal { Name = "Chat.Tiny", Count = 2_000, Bytes = 64_000 },
                new ManagedTypeTotal { Name = "Chat.Rare", Count = 10, Bytes = 320 },
                new ManagedTypeTotal { Name = "Chat.Single", Count = 1, Bytes = 48 },
            ],
        },
        Allocations = new ManagedAllocations
        {
            Method = "allocation_sampled", Samples = 110,
            Frames =
            [
                new ManagedFrame { Function = "Chat.Screen.Load(int32)", Module = "/opt/chat/Chat.dll", Address = 0x7f00_1000 },
                new ManagedFrame { Function = "Chat.Screen.Load(int32)", Module = "/opt/chat/Chat.dll", Address = 0x7f00_2000 },   // its tier-1 code
                new ManagedFrame { Function = "Chat.App.Main()", Module = "/opt/chat/Chat.dll", Address = 0x7f00_3000 },
                new ManagedFrame { Function = "System.String.Ctor(wchar,int32)", Module = "/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/System.Private.CoreLib.dll", Address = 0x7e00_1000 },
                new ManagedFrame { Function = "Chat.Cache.Fill()", Module = "/opt/chat/Chat.dll", Address = 0x7f00_4000 },
            ],
            Stacks =
            [
                new ManagedStack { Type = ViewModel, Frames = [0, 2], Samples = 30, Bytes = 3_000_000, Count = 50_000 },
                new ManagedStack { Type = ViewModel, Frames = [1, 2], Samples = 30, Bytes = 3_000_000, Count = 50_000 },
                new ManagedStack { Type = ViewModel, Frames = [4, 2], Samples = 20, Bytes = 2_000_000, Count = 30_000 },
                new ManagedStack { Type = ViewModel, Frames = [], Samples = 10, Bytes = 2_000_000, Count = 30_000 },   // the table was full
                new ManagedStack { Type = "System.String", Frames = [3, 0, 2], Samples = 20, Bytes = 2_000_000, Count = 20_000 },
            ],
        },
    };

    internal static Model.Report Build(ManagedHeap managed, ReportOptions? options = null)
    {
        var heap = new TestHeap();
        heap.Malloc(heap.Stack(0x1100), 48, 100);
        heap.Malloc(heap.Stack(0x1200), 16 << 10, 20);
        var head = new ReportHead { ReportId = "r1", Platform = "linux", LaunchTime = 1_700_000_000_000 };
        return ReportAssembler.Assemble(heap.Heap, heap.Context, options ?? new ReportOptions(), head, managed);
    }

    [Fact]
    public void TheCensusTypesFollowTheNativeCategoriesAndAddUpToTheCensusWhileLiveBytesStayNative()
    {
        var report = Build(Managed(), new ReportOptions { ManagedTypesBySize = 2, ManagedTypesByCount = 1 });
        var native = report.Items.TakeWhile(i => !i.IsManaged).ToList();
        var managed = report.Items.Skip(native.Count).ToList();
        Assert.All(managed, i => Assert.Equal("managed", i.Heap));
        Assert.Equal(report.Head.LiveBytes, native.Sum(i => i.Size));
        Assert.Equal(100 * 48 + 20 * (16 << 10), report.Head.LiveBytes);
        // The biggest two by size and the most numerous by name; the rest as one item.
        Assert.Equal([ViewModel, "System.String", "Managed: other types"], managed.Select(i => i.Name));
        var other = managed.Single(i => i.Name == "Managed: other types");
        Assert.Equal((64_000L + 320 + 48, 2_011L, "3 types"), (other.Size, other.Count, other.Info));
        var census = report.Head.Managed!.Census!;
        Assert.Equal(managed.Sum(i => i.Size), census.Bytes);
        Assert.Equal(managed.Sum(i => i.Count), census.Count);
        Assert.Equal((5, 2), (census.Types, census.ListedTypes));
        Assert.Equal(("warning:threshold", 150L << 20, 1_700_000_000_500L), (census.Trigger, census.FootprintBytes, census.Time));
        Assert.Equal("10.0.12", report.Head.Managed.RuntimeVersion);
        Assert.Null(report.Head.Managed.NoCensus);
    }

    [Fact]
    public void ATypesStacksShareItsLiveTotalsByTheBytesSampledThereAndTheSameMethodsAreOneStack()
    {
        var report = Build(Managed());
        var viewModels = report.Items.Single(i => i.Name == ViewModel);
        // Load's tier-0 and tier-1 stacks are one path: 6 of the 10 MB sampled for the type.
        Assert.Equal(2, viewModels.Stacks.Count);
        var load = viewModels.Stacks[0];
        Assert.Equal((3_360_000L, 60_000L, 60L, 6_000_000L), (load.Size, load.Count, load.AllocationSamples!.Value, load.AllocatedBytes!.Value));
        Assert.Equal(["Chat.Screen.Load(int32)", "Chat.App.Main()"], load.Frames.Select(f => f.Function));
        var fill = viewModels.Stacks[1];
        Assert.Equal((1_120_000L, 20_000L), (fill.Size, fill.Count));
        Assert.True(viewModels.Stacks.Sum(s => s.Size) <= viewModels.Size);
        Assert.Equal(2, viewModels.DistinctStacks);

        // Frames carry their assembly as a module with load base 0: the offset is the code address.
        var chat = Assert.Single(report.Modules, m => m.Name == "Chat.dll");
        Assert.Equal((0UL, "/opt/chat/Chat.dll"), (chat.Base, chat.Path));
        Assert.Equal(chat.Uuid, load.Frames[0].Uuid);
        Assert.Equal(0x7f00_1000UL, load.Frames[0].Offset);
        Assert.Equal("Chat.Screen.Load(int32)", load.CallerFunction);

        // String's constructor is an allocation wrapper: the caller is the app's method above it.
        var text = report.Items.Single(i => i.IsManaged && i.Name == "System.String").Stacks.Single();
        Assert.Equal("System.String.Ctor(wchar,int32)", text.Frames[0].Function);
        Assert.Equal("Chat.Screen.Load(int32)", text.CallerFunction);
    }

    [Fact]
    public void TheReaderChecksTheManagedItemsAgainstTheCensusAndNamesTheField()
    {
        var report = Build(Managed());
        var path = Path.Combine(_directory, "report.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, ReportJson.Compact));
        var read = ReportReader.Read(path);
        Assert.Equal(report.Items.Count(i => i.IsManaged), read.Items.Count(i => i.IsManaged));
        Assert.Equal(report.Head.Managed!.Census!.Bytes, read.Head.Managed!.Census!.Bytes);

        report.Items.First(i => i.IsManaged).Size += 16;
        File.WriteAllText(path, JsonSerializer.Serialize(report, ReportJson.Compact));
        var tampered = Assert.Throws<ReportFormatException>(() => ReportReader.Read(path));
        Assert.Contains("head.managed.census.bytes", tampered.Message);

        report.Head.Managed.Census = null;
        File.WriteAllText(path, JsonSerializer.Serialize(report, ReportJson.Compact));
        var missing = Assert.Throws<ReportFormatException>(() => ReportReader.Read(path));
        Assert.Contains("head.managed.census: is missing, but 5 items are managed census types", missing.Message);
    }

    [Fact]
    public void FlameGraphViewsPutTheManagedHeapUnderItsOwnRootAndTheTextViewInItsOwnTable()
    {
        var report = Build(Managed());
        var paths = FoldedStacks.Of(report).ToList();
        Assert.Equal(report.Head.LiveBytes, paths.Where(p => p.Frames[0] != FoldedStacks.ManagedRoot).Sum(p => p.Bytes));
        Assert.Equal(report.Head.Managed!.Census!.Bytes, paths.Where(p => p.Frames[0] == FoldedStacks.ManagedRoot).Sum(p => p.Bytes));
        Assert.Contains(paths, p => string.Join(';', p.Frames) == $"{FoldedStacks.ManagedRoot};Chat.App.Main();Chat.Screen.Load(int32);[{ViewModel}]");

        var output = ViewTests.Render(report);
        Assert.Contains("Managed heap by type", output);
        Assert.Contains("warning:threshold", output);
        Assert.Contains("(60 allocation samples)", output);
    }

    [Fact]
    public void DamagedManagedFilesLeaveTheRestOfTheReportAndSayWhichFile()
    {
        ManagedFiles.WriteStatus(_directory, new ManagedStatus { Diagnostics = "connected", RuntimeVersion = "10.0.12" });
        File.WriteAllText(Path.Combine(_directory, ManagedFiles.CensusFileName), """{"format_version":1,"types":[{"name":"A","count":1,"by""");
        var managed = ManagedHeap.Read(_directory, []);
        Assert.NotNull(managed);
        var problem = Assert.Single(managed.Problems);
        Assert.Contains(ManagedFiles.CensusFileName, problem);
        Assert.Contains("not valid JSON", problem);
        var report = Build(managed);
        Assert.DoesNotContain(report.Items, i => i.IsManaged);
        Assert.StartsWith("the census file could not be read:", report.Head.Managed!.NoCensus);

        // A stack refers to a frame that is not there: named, not read past the end.
        File.Delete(Path.Combine(_directory, ManagedFiles.CensusFileName));
        ManagedFiles.WriteAllocations(_directory, new ManagedAllocations { Method = "allocation_sampled", Stacks = [new ManagedStack { Type = "A", Frames = [3] }] });
        var bad = Assert.Single(ManagedHeap.Read(_directory, [])!.Problems);
        Assert.Contains("stacks[0].frames refers to frame 3, but there are 0 frames", bad);
    }

    [Fact]
    public void WithoutACensusTheHeadSaysWhyAndAFrameTheEventsLeftUnnamedIsNamedFromThePerfMap()
    {
        ManagedFiles.WriteStatus(_directory, new ManagedStatus
        {
            Diagnostics = "unavailable", RuntimeVersion = "10.0.12",
            NoCensus = "the program runs with DOTNET_EnableDiagnostics=0, which turns off the .NET runtime's diagnostics port, so its managed heap could not be counted",
        });
        ManagedFiles.WriteAllocations(_directory, new ManagedAllocations
        {
            Method = "allocation_sampled", Samples = 1,
            Frames = [new ManagedFrame { Address = 0x7f00_0010 }],
            Stacks = [new ManagedStack { Type = "A", Frames = [0], Samples = 1, Bytes = 100, Count = 1 }],
        });
        var map = Path.Combine(_directory, "perf-42.map");
        File.WriteAllText(map, "7f000000 40 instance void [Chat] Chat.Screen::Load(int32)[OptimizedTier1]\n");
        var managed = ManagedHeap.Read(_directory, [map])!;
        // Named as the runtime's method events name the other frames, so that one method is one frame.
        Assert.Equal("Chat.Screen.Load(int32)", managed.Allocations!.Frames[0].Function);
        Assert.Equal("Chat", managed.Allocations.Frames[0].Module);
        var report = Build(managed);
        Assert.Null(report.Head.Managed!.Census);
        Assert.Contains("DOTNET_EnableDiagnostics=0", report.Head.Managed.NoCensus);
        Assert.Equal(1, report.Head.Managed.AllocationSamples);
    }

    [Fact]
    public void WithoutACensusTheSampledTypesAreShownAsEstimatesOfAllocatedBytesWithTheirBound()
    {
        var sampledOnly = Managed();
        var managed = new ManagedHeap { Status = sampledOnly.Status, Allocations = sampledOnly.Allocations };
        var report = Build(managed);
        Assert.Null(report.Head.Managed!.Census);
        var types = report.Items.Where(i => i.IsManaged).ToList();
        Assert.Equal([ViewModel, "System.String"], types.Select(i => i.Name));
        Assert.All(types, i => Assert.Equal(ReportItem.AllocatedEstimateMeasure, i.SizeMeasure));
        // The view models' four stacks: 90 samples standing for 10 MB and 160,000 objects allocated; 1.96/sqrt(90) = 21 %.
        var viewModels = types[0];
        Assert.Equal((10_000_000L, 160_000L), (viewModels.Size, viewModels.Count));
        Assert.Equal("±21 % (95 %) from 90 allocation samples; allocated since sampling began, live or not", viewModels.Info);
        // Its stacks are the sampled ones, tier-0 and tier-1 of one path merged, with their own estimates.
        var load = Assert.Single(viewModels.Stacks, s => s.Frames.Any(f => f.Function == "Chat.Screen.Load(int32)"));
        Assert.Equal((6_000_000L, 60L), (load.Size, load.AllocationSamples));

        // The reader takes estimates without a census, and refuses them mixed with census types.
        var path = Path.Combine(_directory, "report.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, ReportJson.Compact));
        Assert.Equal(2, ReportReader.Read(path).Items.Count(i => i.IsManaged));
        types[1].SizeMeasure = null;
        File.WriteAllText(path, JsonSerializer.Serialize(report, ReportJson.Compact));
        Assert.Contains("mix 1 managed items estimated from samples with 1 census types", Assert.Throws<ReportFormatException>(() => ReportReader.Read(path)).Message);

        var output = ViewTests.Render(Build(managed));
        Assert.Contains("Managed allocations by type", output);
        Assert.Contains("estimate ±21 % (95 %) from 90 allocation samples", output);
    }

    [Fact]
    public void TheDotnetAllocationWrappersAreSkippedByTheDefaultCallerRules()
    {
        var rules = CallerRules.Default;
        foreach (var wrapper in new[]
                 {
                     "System.String.Ctor(wchar,int32)", "System.String.Concat(class System.String,class System.String)",
                     "System.Collections.Generic.List`1[System.__Canon].AddWithResize(!0)", "System.Array.Resize(!!0[]&,int32)",
                     "System.Text.StringBuilder.ToString()", "System.Runtime.CompilerServices.DefaultInterpolatedStringHandler.ToStringAndClear()",
                 })
            Assert.True(rules.IsAllocatorFrame(wrapper, "System.Private.CoreLib.dll"), wrapper);
        Assert.False(rules.IsAllocatorFrame("Chat.Screen.Load(int32)", "Chat.dll"));
        Assert.False(rules.IsAllocatorFrame("System.Collections.Generic.List`1[Chat.Message].Sort()", "System.Private.CoreLib.dll"));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
