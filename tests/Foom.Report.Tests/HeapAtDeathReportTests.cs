using System.Text.Json;
using Foom.Report.Building;
using Foom.Report.IO;
using Foom.Storage.Managed;

namespace Foom.Report.Tests;

/// <summary>The heap at death (managed-dump.json) in the report: its census replaces the last one, its exception and root paths are shown; a dump that failed is a note.</summary>
public sealed class HeapAtDeathReportTests : IDisposable
{
    private readonly string _session = Directory.CreateTempSubdirectory("foom-heap-at-death-").FullName;

    private static ManagedCensus LastCensus() => new()
    {
        Time = 1_700_000_000_000, FootprintBytes = 100L << 20, Trigger = "near_limit", Bytes = 1_000, Count = 10,
        Types = [new ManagedTypeTotal { Name = "Shop.Order", Count = 10, Bytes = 1_000 }],
    };

    private static ManagedDump Dump() => new()
    {
        Time = 1_700_000_009_000, DumpBytes = 190L << 20, ReadMilliseconds = 2_500,
        Census = new ManagedCensus
        {
            Time = 1_700_000_009_000, Trigger = "death", Bytes = 96_000_048, Count = 2_000_001,
            Types =
            [
                new ManagedTypeTotal { Name = "Shop.Order", Count = 2_000_000, Bytes = 96_000_000 },
                new ManagedTypeTotal { Name = "Shop.Book", Count = 1, Bytes = 48 },
            ],
        },
        Exception = new ManagedDumpException { Type = "System.OutOfMemoryException", HResult = unchecked((int)0x8007000e), Thread = 1, Frames = ["Shop.Book.Add(Int64)", "Shop.Program.Main(System.String[])"] },
        RootPaths =
        [
            new ManagedRootPath
            {
                Type = "Shop.Order", RootKind = "static", Root = "Shop.Program.s_book",
                Steps =
                [
                    new ManagedRootStep { Type = "Shop.Book" },
                    new ManagedRootStep { Type = "System.Collections.Generic.List<Shop.Order>", Via = "_orders" },
                    new ManagedRootStep { Type = "Shop.Order[]", Via = "_items" },
                    new ManagedRootStep { Type = "Shop.Order", Via = "[]" },
                ],
            },
        ],
    };

    private Model.Report Build()
    {
        var managed = ManagedHeap.Read(_session, []);
        Assert.NotNull(managed);
        var report = ManagedReportTests.Build(managed);
        if (managed.Problems.Count > 0) report.Head.Recovery = [.. managed.Problems];
        return report;
    }

    [Fact]
    public void TheHeapAtDeathIsTheCensusWithTheExceptionAndWhatHoldsTheLeakAndSurvivesTheReader()
    {
        ManagedFiles.WriteCensus(_session, LastCensus());
        ManagedFiles.WriteDump(_session, Dump());
        var report = Build();
        var managed = report.Head.Managed!;
        Assert.Equal("death", managed.Census!.Trigger);
        Assert.Equal(2_000_001, managed.Census.Count);
        var top = report.Items.First(i => i.IsManaged);
        Assert.Equal(("Shop.Order", 2_000_000L), (top.Name, top.Count));
        Assert.Equal("Shop.Program.s_book", managed.HeapAtDeath!.RootPaths[0].Root);

        var path = Path.Combine(_session, "report.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, ReportJson.Compact));
        var read = ReportReader.Read(path);
        Assert.Equal(["Shop.Book", "_orders", "_items", "[]"], read.Head.Managed!.HeapAtDeath!.RootPaths[0].Steps.Select(s => s.Via ?? s.Type));
        Assert.Equal("System.OutOfMemoryException", read.Head.Managed.HeapAtDeath.Exception!.Type);

        var text = ViewTests.Render(read);
        Assert.Contains("at the death", text);
        Assert.Contains("from the runtime's heap dump (190.00 MiB, read in 2.5 s)", text);
        Assert.Contains("System.OutOfMemoryException on thread 1, thrown in Shop.Book.Add(Int64) ← Shop.Program.Main(System.String[])", text);
        Assert.Contains("Shop.Order ← [] of Shop.Order[] ← _items of System.Collections.Generic.List<Shop.Order> ← _orders of Shop.Book ← static Shop.Program.s_book", text);
    }

    [Fact]
    public void ADumpThatFailedIsSaidAndTheLastCensusStands()
    {
        ManagedFiles.WriteCensus(_session, LastCensus());
        ManagedFiles.WriteDump(_session, new ManagedDump { DumpBytes = 4096, Problem = "/s/dotnet-crash.9 (4096 bytes) could not be read: InvalidDataException: cut short" });
        var report = Build();
        Assert.Equal("near_limit", report.Head.Managed!.Census!.Trigger);
        Assert.Equal("/s/dotnet-crash.9 (4096 bytes) could not be read: InvalidDataException: cut short", report.Head.Managed.HeapAtDeath!.Problem);
        Assert.Contains("could not be read: InvalidDataException: cut short", ViewTests.Render(report));
    }

    [Fact]
    public void ACutManagedDumpJsonIsNamedInTheRecoveryAndTheReportIsStillMade()
    {
        ManagedFiles.WriteCensus(_session, LastCensus());
        File.WriteAllText(Path.Combine(_session, ManagedFiles.DumpFileName), """{"format_version":1,"time":17000""");
        var report = Build();
        Assert.Equal("near_limit", report.Head.Managed!.Census!.Trigger);
        Assert.Null(report.Head.Managed.HeapAtDeath);
        Assert.Contains(report.Head.Recovery!, r => r.Contains(ManagedFiles.DumpFileName, StringComparison.Ordinal) && r.Contains("not valid JSON", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_session, recursive: true);
}
