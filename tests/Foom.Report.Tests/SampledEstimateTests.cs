using Foom.Report.Model;
using Foom.Report.Tests.Support;

namespace Foom.Report.Tests;

/// <summary>
/// A sampled run's report (docs/report-format.md, "Sampled runs"): the estimates of the blocks
/// the hook's rule would sample, their bounds, and sums that still add up. The sampling is
/// simulated here with the hook's rule (a block of s bytes kept with chance 1 − e^(−s/N)) from a
/// fixed seed, so the test is repeatable; RunSampledTests does it with the real hook.
/// </summary>
public class SampledEstimateTests
{
    private const long N = 64 * 1024;

    private static bool Sampled(Random random, long size) => size >= N || random.NextDouble() < -double.ExpM1(-(double)size / N);

    [Fact]
    public void EstimatesCoverTheTruthWithinTheirBoundsAboutAsOftenAsTheyClaim()
    {
        var random = new Random(18);
        const int trials = 400;
        int bytesCovered = 0, countsCovered = 0;
        for (var trial = 0; trial < trials; trial++)
        {
            var heap = new TestHeap(N);
            var site = heap.Stack(0x1200, 0x1300);
            // 2 MiB in blocks of 1000 bytes (rounded to 1008): about 32 samples.
            const int blocks = 2080;
            for (var i = 0; i < blocks; i++)
                if (Sampled(random, 1000)) heap.Malloc(site, 1000);
            if (heap.Heap.LiveCount == 0) continue; // not found: e^-32, never with this seed
            var report = heap.Build();
            var caller = Assert.Single(report.Callers!.BottomUp);
            if (Math.Abs(caller.Size - blocks * 1008L) <= caller.SizeBound) bytesCovered++;
            if (Math.Abs(caller.Count - blocks) <= caller.CountBound) countsCovered++;
        }
        // A 95 % interval: with 400 trials, fewer than 90 % covered would be 5 standard errors off.
        Assert.InRange(bytesCovered, trials * 90 / 100, trials);
        Assert.InRange(countsCovered, trials * 90 / 100, trials);
    }

    [Fact]
    public void BlocksOfTheSampleSizeOrMoreAndMappingsAreExactAndSmallOnesAreEstimates()
    {
        var heap = new TestHeap(N);
        var big = heap.Stack(0x2000);
        var small = heap.Stack(0x3000);
        var mapped = heap.Stack(0x4000);
        heap.Malloc(big, N, times: 3);
        heap.Malloc(small, 100, times: 5);
        heap.Mapping(mapped, 1, "anonymous", 1 << 20);
        var report = heap.Build();

        var exact = Assert.Single(report.Items, item => item.Name == "Malloc 64.00 KiB");
        Assert.Equal((3 * N, 3L), (exact.Size, exact.Count));
        Assert.Null(exact.SizeMeasure);
        Assert.Null(exact.SizeBound);
        Assert.Equal("reserved", Assert.Single(report.Items, item => item.Name == "VM: anonymous").SizeMeasure);

        // Each 100-byte block (named by its size rounded, 112) was kept with chance p = 1 - e^(-100/65536): it stands for 1/p blocks of 100 bytes.
        var p = -double.ExpM1(-100.0 / N);
        var estimated = Assert.Single(report.Items, item => item.Name == "Malloc 112 Bytes");
        Assert.Equal(ReportItem.LiveEstimateMeasure, estimated.SizeMeasure);
        Assert.Equal((long)Math.Round(5 / p), estimated.Count);
        Assert.Equal((long)Math.Round(5 * 100 / p), estimated.Size);
        Assert.Equal(5, estimated.Samples);
        Assert.True(estimated.SizeBound > 0 && estimated.CountBound > 0);
        Assert.StartsWith("estimate ±", estimated.Info);
        Assert.Equal(estimated.SizeBound, Assert.Single(estimated.Stacks).SizeBound);

        // The head says so, and everything still adds up exactly.
        var sampling = report.Head.Sampling!;
        Assert.Equal((N, 5L), (sampling.SampleBytes, sampling.Samples));
        Assert.Equal(report.Head.LiveBytes, report.Items.Sum(item => item.Size));
        Assert.Equal(report.Head.LiveCount, report.Items.Sum(item => item.Count));
        Assert.Equal(report.Head.LiveBytes, report.Callers!.TotalBytes);
        Assert.Equal(estimated.SizeBound, sampling.LiveBytesBound);
    }

    [Fact]
    public void AnExactRunHasNoEstimateAnywhere()
    {
        var heap = new TestHeap();
        heap.Malloc(heap.Stack(0x2000), 100, times: 5);
        var report = heap.Build();
        Assert.Null(report.Head.Sampling);
        Assert.All(report.Items, item => Assert.Null(item.SizeBound));
        Assert.All(report.Callers!.BottomUp, caller => Assert.Null(caller.SizeBound));
        Assert.Equal((500L, 5L), (report.Head.LiveBytes, report.Head.LiveCount));
    }
}
