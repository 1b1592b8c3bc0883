using Dapper;
using Foom.Server.Data;
using Foom.Server.Ingest;

namespace Foom.Server.Analysis;

/// <summary>
/// Re-analyses every stored report of an app from its raw upload: after symbols arrive, after
/// the rules change, or to judge early reports against the baseline their version has now.
/// Each version's baseline is its whole current window, so the result no longer depends on the
/// order in which the reports came in.
/// </summary>
public sealed class Reanalysis(Database database, ReportAnalyzer analyzer, BaselineCache baselines, ReportSymbolication symbolication)
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public async Task<(int Reports, int Changed)> RunAsync(string app, CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            return await Task.Run(() => Run(app, cancellationToken), cancellationToken);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private (int Reports, int Changed) Run(string app, CancellationToken cancellationToken)
    {
        baselines.Clear();
        int reports = 0, changed = 0;
        List<string> versions;
        using (var connection = database.Open())
            versions = connection.Query<string>("SELECT DISTINCT app_version FROM reports WHERE app_id = @app", new { app }).ToList();
        foreach (var version in versions)
        {
            var baseline = baselines.For(app, version).Current;
            long after = 0;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var connection = database.Open();
                var batch = connection.Query<(long Id, byte[] Raw, string Source, string IssueKey)>(
                    """
                    SELECT r.id, d.raw_gzip, r.source, r.issue_key FROM reports r JOIN report_data d ON d.report_row = r.id
                    WHERE r.app_id = @app AND r.app_version = @version AND r.id > @after ORDER BY r.id LIMIT 200
                    """,
                    new { app, version, after }).ToList();
                if (batch.Count == 0) break;
                using var transaction = connection.BeginTransaction();
                foreach (var (id, raw, _, oldKey) in batch)
                {
                    after = id;
                    var report = ReportParser.Deserialize(UploadBody.Gunzip(raw));
                    symbolication.ApplyAsync(report, cancellationToken).GetAwaiter().GetResult();
                    var row = new StoredReport { Id = id };
                    ReportIngest.Apply(row, analyzer.Analyze(report, baseline));
                    connection.Execute("""
                        UPDATE reports SET caller1 = @Caller1, caller1_key = @Caller1Key, caller2 = @Caller2, category = @Category,
                            reason_kind = @ReasonKind, reason = @Reason, severity = @Severity, suspect_size = @SuspectSize,
                            level1_key = @Level1Key, issue_key = @IssueKey, analysis_version = @AnalysisVersion
                        WHERE id = @Id
                        """, row, transaction);
                    connection.Execute("UPDATE report_data SET suspects_json = @SuspectsJson WHERE report_row = @Id", row, transaction);
                    reports++;
                    if (row.IssueKey != oldKey) changed++;
                }
                transaction.Commit();
            }
        }
        return (reports, changed);
    }
}
