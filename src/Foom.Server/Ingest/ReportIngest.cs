using System.Text.Json;
using Foom.Server.Analysis;
using Foom.Server.Data;

namespace Foom.Server.Ingest;

/// <summary>
/// Files a parsed report: names its unnamed frames, analyses it against its version's baseline, then writes the raw
/// upload (gzip), the head figures, the baseline categories and the eigenvalue in one group
/// commit. Returns once the report is durable.
/// </summary>
public sealed class ReportIngest(GroupCommitWriter writer, ReportAnalyzer analyzer, BaselineCache baselines, ReportSymbolication symbolication)
{
    public async Task<(bool Inserted, StoredReport Row)> StoreAsync(ParsedReport parsed, UploadBody.Body body, CancellationToken cancellationToken)
    {
        var report = parsed.Report;
        var head = report.Head;
        await symbolication.ApplyAsync(report, cancellationToken);
        var baseline = baselines.For(parsed.AppId, parsed.AppVersion);
        var analysis = analyzer.Analyze(report, baseline.Current);
        var eigen = analysis.Eigenvalue;
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
            RawGzip = body.WasGzip ? body.Raw : UploadBody.Gzip(body.Content),
            AnalysisVersion = ReportAnalyzer.Version,
        };
        Apply(row, analysis);
        var categories = ReportStore.BaselineCategories(report.Items.Select(i => new CategoryAmount(i.Name, i.Size, i.Count)));
        var inserted = await writer.WriteAsync((connection, transaction) => ReportStore.Insert(connection, transaction, row, categories), cancellationToken);
        if (inserted) baseline.Add(categories.ToArray());
        return (inserted, row);
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

    private static string? Clip(string? text) => text is { Length: > 1024 } ? text[..1024] : text;
}
