using BenchmarkDotNet.Attributes;
using Foom.Report.Building;
using Foom.Report.IO;
using Foom.Report.Tests.Support;

namespace Foom.Benchmarks;

/// <summary>
/// Building the report of a session of 1,000,000 live blocks over 4096 stacks (issue 5's target:
/// at most 300 KB gzip'ed, built in at most 2 s), written through the real storage engine by the
/// report tests' SyntheticSession. Frames are not symbolized (that is SymbolBenchmarks' part).
/// Also measured: reading and summing the live heap alone, and the build without a budget, to
/// show what fitting the report into 300 KB costs.
/// </summary>
[MemoryDiagnoser]
public class ReportBenchmarks
{
    private string _root = "";
    private string _session = "";

    [GlobalSetup]
    public void Setup()
    {
        _root = Directory.CreateTempSubdirectory("foom-report-bench-").FullName;
        _session = Path.Combine(_root, "big");
        SyntheticSession.Write(_session, allocations: 1_000_000, stacks: 4096);
        var report = Build(ReportOptions.Default);
        Console.WriteLine($"// report: {report.Items.Count} categories, {report.Items.Sum(i => i.Stacks.Count)} stacks listed, " +
                          $"{report.Head.Trimmed!.BudgetStacks} dropped for the budget, {ReportJson.GzipSize(report)} bytes gzip'ed");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_root, recursive: true);

    [Benchmark(Baseline = true, Description = "build the report (1 M blocks, 4096 stacks, 300 KB budget)")]
    public Foom.Report.Model.Report BuildReport() => Build(ReportOptions.Default);

    [Benchmark(Description = "read and sum the live heap only")]
    public int ReadHeap() => SessionHeap.Read(_session, SessionDirectories.ReadInfo(_session)).Heap.CellCount;

    [Benchmark(Description = "build without a budget (every selected stack kept)")]
    public Foom.Report.Model.Report BuildUnbudgeted() => Build(ReportOptions.Default with { BudgetGzipBytes = long.MaxValue });

    private Foom.Report.Model.Report Build(ReportOptions options) =>
        ReportBuilder.Build(_session, SessionMarks.None, new ReportBuildOptions { Report = options, Symbolizer = null });
}
