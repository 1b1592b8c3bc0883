using System.Globalization;
using System.IO.Compression;
using Foom.Report.Model;
using Foom.Report.Views;
using Google.Protobuf;

namespace Foom.Report.Pprof;

/// <summary>
/// A report as a pprof profile (profile.proto, gzip'ed, as `go tool pprof`, Pyroscope, Parca,
/// Datadog, Perfetto and speedscope read it): sample types inuse_objects and inuse_space (and,
/// for a .NET report with sampled allocation stacks, alloc_samples and alloc_space, an
/// estimate), the run's facts as comments and labels. docs/report-format.md, "pprof", has the rules.
/// </summary>
public static class PprofView
{
    /// <summary>Writes the gzip'ed profile of one report.</summary>
    public static void Write(Model.Report report, Stream output)
    {
        var builder = new PprofBuilder(PprofBuilder.HasAllocationSamples(report));
        Describe(builder, report, prefix: "");
        builder.Add(report, sign: 1, side: null);
        builder.Time(report.Head);
        Gzip(builder, output);
    }

    /// <summary>
    /// Writes the gzip'ed profile of what changed from <paramref name="before"/> to
    /// <paramref name="after"/>: the later report's samples as they are and the earlier one's
    /// negated (labelled side=before and side=after), as `pprof -diff_base` combines two
    /// profiles, so every total is the change and each sample keeps its frames and files.
    /// </summary>
    public static void WriteDiff(Model.Report before, Model.Report after, Stream output)
    {
        var builder = new PprofBuilder(PprofBuilder.HasAllocationSamples(before, after));
        builder.Comment("foom diff: the change from the before report to the after report; samples labelled side=before are negated");
        Describe(builder, before, prefix: "before: ");
        Describe(builder, after, prefix: "after: ");
        builder.Add(before, sign: -1, side: "before");
        builder.Add(after, sign: 1, side: "after");
        builder.Time(after.Head);
        Gzip(builder, output);
    }

    /// <summary>The report's facts as comments (`pprof -comments` prints them), and every note a reader needs not to take a part for the whole.</summary>
    private static void Describe(PprofBuilder builder, Model.Report report, string prefix)
    {
        var head = report.Head;
        void Line(string text) => builder.Comment(prefix + text);
        Line("foom report " + (head.ReportId ?? "(no id)") + (head.SessionId is { } session ? ", session " + session : ""));
        var app = string.Join(" ", new[] { head.AppId, head.AppVersion }.Where(s => !string.IsNullOrEmpty(s)));
        if (app.Length > 0) Line("app: " + app);
        Line("platform: " + (head.Platform ?? "ios (Matrix)"));
        if (head.ExitReason is { } reason) Line("exit: " + reason + (head.ExitHow is { } how ? $" ({how})" : ""));
        foreach (var evidence in head.ExitEvidence) Line("evidence: " + evidence);
        if (head.LimitBytes is { } limit) Line("limit: " + Bytes(limit));
        if (head.FootprintBytes is { } footprint) Line("footprint: " + Bytes(footprint));
        if (head.PeakFootprintBytes is { } peak) Line("peak footprint: " + Bytes(peak));
        Line("live: " + Bytes(head.LiveBytes) + " in " + head.LiveCount.ToString("N0", CultureInfo.InvariantCulture)
             + " blocks: the samples outside [managed heap] add up to these");
        if (head.Sampling is { } sampling)
            Line($"sampled run: heap blocks under {Bytes(sampling.SampleBytes)} were sampled, one per that many bytes allocated on average; inuse_space and inuse_objects of native samples "
                 + $"labelled estimate=sampled are estimates (labels size_bound and count_bound: their 95 % bounds); live is within ±{Bytes(sampling.LiveBytesBound)} and ±{sampling.LiveCountBound.ToString("N0", CultureInfo.InvariantCulture)} blocks at 95 %");
        if (head.Managed?.Census is { } census)
            Line("managed heap: " + Bytes(census.Bytes) + " in " + census.Count.ToString("N0", CultureInfo.InvariantCulture)
                 + " objects counted by a census, under [managed heap]; the GC heap's memory is also in the native categories, so filter heap=native or heap=managed rather than adding the two");
        else if (head.Managed?.NoCensus is { } noCensus) Line("managed heap: no census: " + noCensus);
        if (report.Items.Any(i => i.IsManaged && i.Stacks.Any(s => s.AllocationSamples is not null)))
            Line("the stacks of a managed type share its census totals in proportion to the bytes sampled on them (label estimate); "
                 + $"alloc_space is the bytes allocated as estimated from {head.Managed?.AllocationSamples ?? 0} allocation samples ({head.Managed?.AllocationSampling ?? "sampled"})");
        foreach (var note in TextView.Notes(report)) Line("note: " + note);
        if (head.Trimmed is { UnlistedStacks: > 0 } trimmed)
            Line($"note: {trimmed.UnlistedStacks} stacks are not listed in the report; their bytes are under [stacks not listed] in each category");
    }

    private static string Bytes(long bytes) =>
        bytes.ToString(CultureInfo.InvariantCulture) + " bytes (" + FrameLabels.Bytes(bytes) + ")";

    private static void Gzip(PprofBuilder builder, Stream output)
    {
        using var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
        builder.Profile.WriteTo(gzip);
    }
}
