using System.Globalization;
using Foom.Report.Model;
using Foom.Report.Views;

namespace Foom.Report.Building;

/// <summary>
/// How a sampled run's estimates appear in a report: the bounds of a total (1.96 standard
/// errors, 95 %), the head's <see cref="ReportSampling"/> and the sentence every estimate's
/// `info` carries, in the shape the managed allocation estimates already use.
/// </summary>
internal static class SampledEstimates
{
    /// <summary>The normal quantile of a two-sided 95 % interval.</summary>
    public const double Z95 = 1.96;

    public const string Method =
        "each heap block of s bytes below sample_bytes N was recorded with chance p = 1 - e^(-s/N), independently, and counts as 1/p blocks of 1/p times its size " +
        "(Horvitz-Thompson); a bound is 1.96 standard errors (95 %), the variance estimated from the sampled blocks themselves, widened for few samples " +
        "to the exact Poisson interval's upper side (Garwood's, for k samples: U(k) - k instead of 1.96 sqrt(k))";

    public static long SizeBound(CellTotals totals) => Bound(totals.SizeVariance, totals.Samples);

    public static long CountBound(CellTotals totals) => Bound(totals.CountVariance, totals.Samples);

    /// <remarks>
    /// With few samples the normal interval is too narrow: the number of sampled blocks is nearly
    /// Poisson, and skewed. For a site of one block size the estimate is k/p blocks from k samples,
    /// and the exact 95 % interval of a Poisson mean seen as k reaches up to U(k) (Garwood), so the
    /// half-width U(k) − k replaces 1.96√k: 4.6 instead of 1.96 for one sample, 8.1 instead of 5.9
    /// for nine, 21.6 instead of 19.6 for a hundred. Blocks of mixed sizes get the same factor.
    /// </remarks>
    private static long Bound(double variance, long samples)
    {
        if (samples <= 0 || variance <= 0) return 0;
        var k = (double)samples;
        var widening = (PoissonUpper95(k) - k) / (Z95 * Math.Sqrt(k));
        return (long)Math.Ceiling(Z95 * Math.Sqrt(variance) * Math.Max(1, widening));
    }

    /// <summary>The upper end of the exact two-sided 95 % interval of a Poisson mean from k events (Wilson–Hilferty's approximation, within 1 % of Garwood's).</summary>
    private static double PoissonUpper95(double k)
    {
        var n = k + 1;
        var root = 1 - 1 / (9 * n) + Z95 / (3 * Math.Sqrt(n));
        return n * root * root * root;
    }

    /// <summary>"±1.2 MiB (±8 %) and ±310 blocks (95 %) from 64 sampled blocks".</summary>
    public static string Info(CellTotals totals)
    {
        var size = SizeBound(totals);
        var share = totals.Size > 0 ? 100.0 * size / totals.Size : 0;
        return string.Create(CultureInfo.InvariantCulture,
            $"estimate ±{FrameLabels.Bytes(size)} (±{share:0} %) and ±{CountBound(totals):N0} blocks (95 %) from {totals.Samples:N0} sampled blocks");
    }

    public static void Describe(ReportItem item, CellTotals totals)
    {
        if (!totals.IsEstimate) return;
        item.SizeMeasure = ReportItem.LiveEstimateMeasure;
        item.Info = Info(totals);
        item.SizeBound = SizeBound(totals);
        item.CountBound = CountBound(totals);
        item.Samples = totals.Samples;
    }

    public static void Describe(ReportStack stack, CellTotals totals)
    {
        if (!totals.IsEstimate) return;
        stack.SizeBound = SizeBound(totals);
        stack.CountBound = CountBound(totals);
        stack.Samples = totals.Samples;
    }

    public static void Describe(ReportCaller caller, CellTotals totals)
    {
        if (!totals.IsEstimate) return;
        caller.SizeBound = SizeBound(totals);
        caller.CountBound = CountBound(totals);
        caller.Samples = totals.Samples;
    }

    /// <summary>head.sampling of a sampled run; null for one that recorded every block.</summary>
    public static ReportSampling? Head(LiveHeap heap)
    {
        if (!heap.Sampled) return null;
        var totals = heap.Totals;
        return new ReportSampling
        {
            SampleBytes = heap.SampleBytes,
            Samples = totals.Samples,
            LiveBytesBound = SizeBound(totals),
            LiveCountBound = CountBound(totals),
            Method = Method,
        };
    }

    /// <summary>The figure note that says the live figures are estimates, with their bound.</summary>
    public static string Note(ReportSampling sampling) => string.Create(CultureInfo.InvariantCulture,
        $"the live figures are estimates: heap blocks under {FrameLabels.Bytes(sampling.SampleBytes)} were sampled, one per {FrameLabels.Bytes(sampling.SampleBytes)} allocated on average " +
        $"({sampling.Samples:N0} sampled blocks live), each counting for the blocks it stands for; live is within ±{FrameLabels.Bytes(sampling.LiveBytesBound)} " +
        $"and ±{sampling.LiveCountBound:N0} blocks at 95 %, and so is each category, stack and caller within the bound it states; " +
        $"blocks of {FrameLabels.Bytes(sampling.SampleBytes)} or more and mappings were all recorded and are exact");
}
