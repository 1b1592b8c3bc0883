using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Foom.Report.Model;

namespace Foom.Benchmarks;

/// <summary>
/// Parsing one uploaded report as the server's ingest does (System.Text.Json into the report
/// model): a 300 KB report shaped like the load generator's (bench/Foom.Server.Load): about 100
/// categories, stacks of 24 frames from two modules, function names drawn from a few hundred.
/// </summary>
[MemoryDiagnoser]
public class ReportParseBenchmarks
{
    private byte[] _json = [];

    [GlobalSetup]
    public void Setup()
    {
        _json = JsonSerializer.SerializeToUtf8Bytes(MakeReport(300 << 10));
        Console.WriteLine($"// report: {_json.Length} bytes of JSON");
    }

    [Benchmark(Description = "parse a 300 KB report")]
    public Report.Model.Report Parse() => JsonSerializer.Deserialize<Report.Model.Report>(_json)!;

    private static Report.Model.Report MakeReport(int targetBytes)
    {
        const string appUuid = "0b1c2d3e4f5061728394a5b6c7d8e9f0";
        const string libc = "11223344556677889900aabbccddeeff";
        var random = new Random(42);
        var report = new Report.Model.Report { Head = new ReportHead { ReportId = "parse-bench", AppId = "bench", Platform = "linux" } };
        for (var c = 0; JsonSerializer.SerializeToUtf8Bytes(report).Length < targetBytes; c++)
        {
            var item = new ReportItem { Name = $"Malloc {16 * (c + 1)} Bytes", Size = random.Next(1 << 10, 1 << 24), Count = 1 + c };
            for (var s = 0; s < (c < 20 ? 10 : 2); s++)
            {
                var frames = new List<ReportFrame> { new() { Uuid = libc, Offset = 0x9a0e0, Function = "malloc" } };
                for (var f = 0; f < 23; f++)
                    frames.Add(new ReportFrame { Uuid = appUuid, Offset = (ulong)(0x20000 + random.Next(1 << 20)), Function = $"service{f % 9}::Handler{random.Next(50)}::run(request&)" });
                item.Stacks.Add(new ReportStack { Caller = $"{appUuid}@{frames[1].Offset}", Size = item.Size / 10, Count = 1, Frames = frames });
            }
            report.Items.Add(item);
        }
        return report;
    }
}
