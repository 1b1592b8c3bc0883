using System.Text.Json;
using Foom.Server.Analysis;
using Foom.Server.Data;

namespace Foom.Server.Ingest;

/// <summary>
/// Files a parsed report in two steps: <see cref="PrepareAsync"/> names its unnamed frames and
/// analyses it against its version's baseline, leaving only the row to store; <see cref="WriteAsync"/>
/// writes the raw upload (gzip), the head figures, the baseline categories and the eigenvalue in
/// one group commit and returns once the report is durable.
///
/// The split is for the garbage collector: a parsed report is a graph of some thousands of
/// objects, and a request that held it while waiting for its commit (tens of milliseconds with
/// dozens of uploads in flight) made every one of those graphs survive into the older
/// generations, whose collections then took more CPU than the parsing. Callers let go of the
/// report (and of the upload's pooled buffers) before they wait for the commit.
/// </summary>
public sealed class ReportIngest(GroupCommitWriter writer, ReportAnalyzer analyzer, BaselineCache baselines, ReportSymbolication symbolication)
{
    /// <summary>What is stored of a report: its row and its baseline categories.</summary>
    public sealed record Prepared(StoredReport Row, List<CategoryAmount> Categories, BaselineCache.VersionBaseline Baseline);

    public async Task<Prepared> PrepareAsync(ParsedReport parsed, UploadBody.Body body, CancellationToken cancellationToken)
    {
        await symbolication.ApplyAsync(parsed.Report, cancellationToken);
        return Prepare(parsed, body);
    }

    public async Task<(bool Inserted, StoredReport Row)> WriteAsync(Prepared prepared, CancellationToken cancellationToken)
    {
        var (row, categories, baseline) = prepared;
        var inserted = await writer.WriteAsync((connection, transaction) => ReportStore.Insert(connection, transaction, row, categories), cancellationToken);
        if (inserted) baseline.Add(categories.ToArray());
        return (inserted, row);
    }

    private Prepared Prepare(ParsedReport parsed, UploadBody.Body body)
    {
        var report = parsed.Report;
        var head = report.Head;
        var baseline = baselines.For(parsed.AppId, parsed.AppVersion);
        var analysis = analyzer.Analyze(report, baseline.Current);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var row = new StoredReport
        {
            ReportId = parsed.ReportId,
            Source = parsed.Source,
            AppId = parsed.AppId,
            Platform = head.Platform,
            AppVersion = parsed.AppVersion,
            AppUuid = head.AppUuid,
            DeviceId = head.DeviceId,
            UserId = head.UserId,
            Phone = head.Phone,
            OsVer = head.OsVersion,
            ExitReason = head.ExitReason,
            Scene = head.Scene,
            LaunchTime = head.LaunchTime,
            ReportTime = head.ReportTime,
            ReceivedAt = now,
            Day = now / 86_400_000,
            LimitBytes = head.LimitBytes,
            FootprintBytes = head.FootprintBytes,
            LiveBytes = head.LiveBytes,
            LiveCount = head.LiveCount,
            ItemCount = report.Items.Count,
            RawSize = body.Content.Length,
            RawGzip = body.ToStoredGzip(),
            AnalysisVersion = ReportAnalyzer.Version,
        };
        Apply(row, analysis);
        var categories = ReportStore.BaselineCategories(report.Items.Select(i => new CategoryAmount(i.Name, i.Size, i.Count)));
        return new Prepared(row, categories, baseline);
    }

    public static void Apply(StoredReport row, AnalysisResult analysis)
    {
        var eigen = analysis.Eigenvalue;
        row.Caller1 = Clip(eigen.Caller1);
        row.Caller1Key = Clip(eigen.Caller1Key);
        row.Caller2 = Clip(eigen.Caller2);
        row.Category = eigen.Category;
        row.ReasonKind = eigen.ReasonKind;
        row.Reason = eigen.Reason;
        row.Severity = eigen.Severity;
        row.SuspectSize = eigen.SuspectSize;
        row.Level1Key = Clip(eigen.Level1Key)!;
        row.IssueKey = eigen.IssueKey;
        row.SuspectsJson = JsonSerializer.Serialize(analysis.Suspects.Take(20).Select(s => new
        {
            category = s.Category, size = s.Size, count = s.Count, reason_kind = s.ReasonKind, reason = s.Reason, severity = Math.Round(s.Severity, 3),
        }));
        row.AnalysisVersion = ReportAnalyzer.Version;
    }

    private static string? Clip(string? text) => StoredText.Clip(text, 1024);
}
