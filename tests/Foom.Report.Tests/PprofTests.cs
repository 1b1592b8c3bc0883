using Foom.Report.IO;
using Foom.Report.Model;
using Foom.Report.Pprof;
using Foom.Report.Tests.Support;
using Foom.Report.Views;

namespace Foom.Report.Tests;

/// <summary>The pprof export, read back by the real reader (`go tool pprof -raw`), against the report's own figures.</summary>
public class PprofTests
{
    private static byte[] Pprof(Model.Report report)
    {
        using var buffer = new MemoryStream();
        PprofView.Write(report, buffer);
        return buffer.ToArray();
    }

    private static long CategoryTotal(GoPprof profile, string type, string category) =>
        profile.Total(type, s => profile.Leaf(s).Contains(FoldedStacks.Leaf(category), StringComparison.Ordinal));

    [Fact]
    public void ANativeReportReadsInGoPprofWithItsTotalsFramesModulesAndVerdict()
    {
        var report = ViewTests.SampleReport();
        var bytes = Pprof(report);
        Assert.Equal([0x1f, 0x8b], bytes[..2]);   // gzip'ed, as pprof files are
        var profile = GoPprof.Read(bytes);

        Assert.Equal(["inuse_objects/count", "inuse_space/bytes"], profile.SampleTypes);
        Assert.Equal(report.Head.LiveBytes, profile.Total("inuse_space/bytes"));
        Assert.Equal(report.Head.LiveCount, profile.Total("inuse_objects/count"));
        foreach (var item in report.Items)
        {
            Assert.Equal(item.Size, CategoryTotal(profile, "inuse_space/bytes", item.Name));
            Assert.Equal(item.Count, CategoryTotal(profile, "inuse_objects/count", item.Name));
        }
        // A named frame keeps its file and line; an unnamed one its address in the module, so pprof can name it from the binary with that build-id.
        Assert.Contains(profile.Locations.Values, l => l.Contains("Cache::grow(unsigned long) /src/cache.cpp:42", StringComparison.Ordinal));
        Assert.Contains(profile.Locations.Values, l => l.StartsWith($"0x{0x5555_0000_0000UL + 0x1300:x} M=", StringComparison.Ordinal));
        Assert.Contains(TestHeap.AppBuildId, profile.Raw);
        Assert.Contains("/opt/app/bin/app", profile.Raw);
        Assert.Contains(profile.Samples, s => s.Locations.Any(l => profile.Locations[l].Contains(FoldedStacks.UnlistedRoot, StringComparison.Ordinal)));
        // The verdict and the limit: as comments, and as labels on every sample.
        Assert.Contains("exit: foreground_oom (observed)", profile.Comments);
        Assert.Contains("evidence: kernel: Killed process 4242 (chat)", profile.Comments);
        Assert.Contains("limit: 67108864 bytes (64.00 MiB)", profile.Comments);
        Assert.All(profile.Samples, s => Assert.Contains("exit_reason:[foreground_oom]", s.Labels, StringComparison.Ordinal));
        Assert.All(profile.Samples, s => Assert.Contains("app:[chat]", s.Labels, StringComparison.Ordinal));
        Assert.All(profile.Samples, s => Assert.Contains("heap:[native]", s.Labels, StringComparison.Ordinal));
    }

    [Fact]
    public void ASampledRunsEstimatesAreMarkedAsSuchAndStillAddUpToItsTotals()
    {
        var heap = new TestHeap(64 * 1024);
        heap.Malloc(heap.Stack(0x1200, 0x1300), 1000, times: 40);   // sampled blocks: estimates
        heap.Malloc(heap.Stack(0x2200, 0x2300), 1 << 20, times: 2); // blocks of N or more: exact
        var report = heap.Build();
        var profile = GoPprof.Read(Pprof(report));

        Assert.Equal(report.Head.LiveBytes, profile.Total("inuse_space/bytes"));
        Assert.Equal(report.Head.LiveCount, profile.Total("inuse_objects/count"));
        Assert.Contains(profile.Comments, line => line.StartsWith("sampled run: heap blocks under 65536 bytes", StringComparison.Ordinal));
        var estimated = CategoryTotal(profile, "inuse_space/bytes", "Malloc 1008 Bytes");
        Assert.Equal(report.Items.Single(i => i.Name == "Malloc 1008 Bytes").Size, estimated);
        Assert.All(profile.Samples.Where(s => profile.Leaf(s).Contains("1008 Bytes", StringComparison.Ordinal)),
            s => Assert.Contains("estimate:[sampled]", s.Labels, StringComparison.Ordinal));
        Assert.All(profile.Samples.Where(s => profile.Leaf(s).Contains("1.00 MiB", StringComparison.Ordinal)),
            s => Assert.DoesNotContain("estimate:", s.Labels, StringComparison.Ordinal));
    }

    [Fact]
    public void AMatrixReportFromIosWithUuidsAndOffsetsOnlyIsAValidProfile()
    {
        var report = ReportReader.Read(Path.Combine(AppContext.BaseDirectory, "Data", "matrix-memstat.json"));
        var profile = GoPprof.Read(Pprof(report));

        Assert.Equal(report.Items.Sum(i => i.Size), profile.Total("inuse_space/bytes"));
        var frame = report.Items.SelectMany(i => i.Stacks).SelectMany(s => s.Frames).First();
        // No modules table: the uuid is the mapping's build-id and the offset the address.
        Assert.Contains(frame.Uuid, profile.Raw, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(profile.Locations.Values, l => l.StartsWith($"0x{frame.Offset:x} M=", StringComparison.Ordinal));
    }

    [Fact]
    public void AReportWithoutFramesOrWithUnnamedFramesOutsideEveryModuleIsAValidProfile()
    {
        var report = new Model.Report
        {
            Head = new ReportHead { ReportId = "bare", Platform = "linux", LiveBytes = 4096 + 96 + 160, LiveCount = 1 + 2 + 5 },
            Items =
            [
                new ReportItem { Name = "Malloc 4.00 KiB", Size = 4096, Count = 1, Stacks = [new ReportStack { Size = 4096, Count = 1 }] },
                new ReportItem
                {
                    Name = "Malloc 48 Bytes", Size = 96, Count = 2,
                    Stacks = [new ReportStack { Size = 96, Count = 2, Frames = [new ReportFrame { Offset = 0x7f12_3456_7890 }, new ReportFrame { Uuid = "", Offset = 0x1234, Function = "" }] }],
                },
                new ReportItem { Name = "Malloc 32 Bytes", Size = 160, Count = 5 },
            ],
        };
        var profile = GoPprof.Read(Pprof(report));

        Assert.Equal(report.Head.LiveBytes, profile.Total("inuse_space/bytes"));
        Assert.Equal(report.Head.LiveCount, profile.Total("inuse_objects/count"));
        Assert.Contains(profile.Locations.Values, l => l.StartsWith("0x7f1234567890", StringComparison.Ordinal));
        Assert.Equal(160, CategoryTotal(profile, "inuse_space/bytes", "Malloc 32 Bytes"));
    }

    [Fact]
    public void ADotNetReportAddsTheEstimatedAllocationTypesAndKeepsTheCensusApartFromTheNativeBytes()
    {
        var report = ManagedReportTests.Build(ManagedReportTests.Managed());
        var profile = GoPprof.Read(Pprof(report));

        Assert.Equal(["inuse_objects/count", "inuse_space/bytes", "alloc_samples/count", "alloc_space/bytes"], profile.SampleTypes);
        bool Managed(GoPprof.Sample s) => s.Labels.Contains("heap:[managed]", StringComparison.Ordinal);
        Assert.Equal(report.Head.LiveBytes, profile.Total("inuse_space/bytes", s => !Managed(s)));
        Assert.Equal(report.Head.Managed!.Census!.Bytes, profile.Total("inuse_space/bytes", Managed));
        Assert.Equal(report.Head.Managed.Census.Count, profile.Total("inuse_objects/count", Managed));
        var managedStacks = report.Items.Where(i => i.IsManaged).SelectMany(i => i.Stacks).ToList();
        Assert.Equal(managedStacks.Sum(s => s.AllocationSamples ?? 0), profile.Total("alloc_samples/count"));
        Assert.Equal(managedStacks.Sum(s => s.AllocatedBytes ?? 0), profile.Total("alloc_space/bytes"));
        Assert.Contains(profile.Samples, s => Managed(s) && s.Labels.Contains("estimate:[shared out by allocation samples]", StringComparison.Ordinal));
        Assert.Contains(profile.Locations.Values, l => l.Contains("Chat.Screen.Load(int32)", StringComparison.Ordinal));
        Assert.Contains(profile.Comments, c => c.StartsWith("managed heap: ", StringComparison.Ordinal));
        Assert.All(profile.Samples.Where(Managed), s => Assert.Contains(FoldedStacks.ManagedRoot, profile.Locations[s.Locations[^1]], StringComparison.Ordinal));
    }

    [Fact]
    public void ADiffProfileAddsUpToTheChangeAndKeepsBothSidesLabelled()
    {
        var (before, after) = DiffTests.TwoRuns();
        using var buffer = new MemoryStream();
        PprofView.WriteDiff(before, after, buffer);
        var profile = GoPprof.Read(buffer.ToArray());

        Assert.Equal(after.Head.LiveBytes - before.Head.LiveBytes, profile.Total("inuse_space/bytes"));
        Assert.Equal(-before.Head.LiveBytes, profile.Total("inuse_space/bytes", s => s.Labels.Contains("side:[before]", StringComparison.Ordinal)));
        Assert.Equal(2L << 20, CategoryTotal(profile, "inuse_space/bytes", "Malloc 1.00 MiB"));
        Assert.Equal(-6 * 4096, CategoryTotal(profile, "inuse_space/bytes", "Malloc 4.00 KiB"));
        Assert.Contains(profile.Comments, c => c.StartsWith("before: foom report ", StringComparison.Ordinal));
        // pprof's own summary of the combined profile is the change too.
        Assert.Contains(profile.Comments, c => c.StartsWith("after: live: ", StringComparison.Ordinal));
    }

    [Fact]
    public void AMillionAllocationReportMakesAProfileOfAtMostTwoMegabytes()
    {
        var heap = new TestHeap();
        var random = new Random(7);
        for (var stack = 0; stack < 20_000; stack++)
        {
            var id = heap.DeepStack(40, (ulong)random.Next(1, 1 << 20));
            heap.Malloc(id, 16 * random.Next(1, 4096), 50);
        }
        var report = heap.Build();
        Assert.Equal(1_000_000, report.Head.LiveCount);
        var bytes = Pprof(report);

        Assert.InRange(bytes.Length, 1, 2_000_000);
        Assert.Equal(report.Head.LiveBytes, GoPprof.Read(bytes).Total("inuse_space/bytes"));
    }
}
