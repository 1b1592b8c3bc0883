using System.Data.Common;
using Dapper;
using Foom.Server.Analysis;

namespace Foom.Server.Data;

/// <summary>One report as the server files it: identity, head figures, the raw upload and its analysis.</summary>
public sealed class StoredReport
{
    public long Id { get; set; }
    public string ReportId { get; set; } = "";
    public string Source { get; set; } = "";
    public string AppId { get; set; } = "";
    public string? Platform { get; set; }
    public string AppVersion { get; set; } = "";
    public string? AppUuid { get; set; }
    public string? DeviceId { get; set; }
    public string? UserId { get; set; }
    public string? Phone { get; set; }
    public string? OsVer { get; set; }
    public string? ExitReason { get; set; }
    public string? Scene { get; set; }
    public long? LaunchTime { get; set; }
    public long? ReportTime { get; set; }
    public long ReceivedAt { get; set; }
    public long Day { get; set; }
    public long? LimitBytes { get; set; }
    public long? FootprintBytes { get; set; }
    public long LiveBytes { get; set; }
    public long LiveCount { get; set; }
    public long ItemCount { get; set; }
    public long RawSize { get; set; }
    public byte[] RawGzip { get; set; } = [];
    public string? Caller1 { get; set; }
    public string? Caller1Key { get; set; }
    public string? Caller2 { get; set; }
    public string Category { get; set; } = "";
    public string ReasonKind { get; set; } = "";
    public string Reason { get; set; } = "";
    public double Severity { get; set; }
    public long SuspectSize { get; set; }
    public string Level1Key { get; set; } = "";
    public string IssueKey { get; set; } = "";
    public string SuspectsJson { get; set; } = "[]";
    /// <summary>The categories this report adds to its version's baseline: [[name, size, count], ...].</summary>
    public string BaselineCategories { get; set; } = "[]";
    public long AnalysisVersion { get; set; }
}

/// <summary>A second-level group (an issue): one eigenvalue and who it hit.</summary>
public sealed class IssueRow
{
    public string IssueKey { get; set; } = "";
    public string Level1Key { get; set; } = "";
    public string? Caller1 { get; set; }
    public string? Caller2 { get; set; }
    public string Category { get; set; } = "";
    public string ReasonKind { get; set; } = "";
    /// <summary>The reason of the group's latest report (figures differ per report; the kind is shared).</summary>
    public string Reason { get; set; } = "";
    public long Reports { get; set; }
    public long Devices { get; set; }
    public long Users { get; set; }
    public long Bytes { get; set; }
    public long FirstSeen { get; set; }
    public long LastSeen { get; set; }
    public List<string> Versions { get; set; } = [];
    /// <summary>open, resolved or regressed (<see cref="IssueStates"/>).</summary>
    public string State { get; set; } = IssueStates.Open;
    public long? ResolvedAt { get; set; }
    public string? ResolvedVersion { get; set; }
}

/// <summary>The report table's queries. SQL only through parameters.</summary>
public static class ReportStore
{
    /// <summary>The categories kept per report for the baselines: the largest by size and by count.</summary>
    public const int CategoriesPerReport = 48;

    private const string InsertSql = """
        INSERT INTO reports (report_id, source, app_id, platform, app_version, app_uuid, device_id, user_id, phone, os_ver,
            exit_reason, scene, launch_time, report_time, received_at, day, limit_bytes, footprint_bytes, live_bytes, live_count,
            item_count, raw_size, caller1, caller1_key, caller2, category, reason_kind, reason, severity, suspect_size,
            level1_key, issue_key, analysis_version)
        VALUES (@ReportId, @Source, @AppId, @Platform, @AppVersion, @AppUuid, @DeviceId, @UserId, @Phone, @OsVer,
            @ExitReason, @Scene, @LaunchTime, @ReportTime, @ReceivedAt, @Day, @LimitBytes, @FootprintBytes, @LiveBytes, @LiveCount,
            @ItemCount, @RawSize, @Caller1, @Caller1Key, @Caller2, @Category, @ReasonKind, @Reason, @Severity, @SuspectSize,
            @Level1Key, @IssueKey, @AnalysisVersion)
        ON CONFLICT (report_id) DO NOTHING
        RETURNING id
        """;

    /// <summary>Inserts the report with its baseline categories; false when its id was already stored.</summary>
    public static bool Insert(DbConnection connection, DbTransaction transaction, StoredReport report, IReadOnlyList<CategoryAmount> categories)
    {
        report.BaselineCategories = EncodeCategories(categories);
        var id = connection.ExecuteScalar<long?>(InsertSql, report, transaction);
        if (id is null) return false;
        report.Id = id.Value;
        connection.Execute("INSERT INTO report_data (report_row, raw_gzip, suspects_json, baseline_categories) VALUES (@Id, @RawGzip, @SuspectsJson, @BaselineCategories)",
            report, transaction);
        return true;
    }

    public static string EncodeCategories(IReadOnlyList<CategoryAmount> categories)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(categories.Count * 40 + 2);
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var c in categories)
            {
                json.WriteStartArray();
                json.WriteStringValue(c.Name);
                json.WriteNumberValue(c.Size);
                json.WriteNumberValue(c.Count);
                json.WriteEndArray();
            }
            json.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static CategoryAmount[] DecodeCategories(string text)
    {
        if (string.IsNullOrEmpty(text)) return [];
        using var document = System.Text.Json.JsonDocument.Parse(text);
        return document.RootElement.EnumerateArray()
            .Select(e => new CategoryAmount(e[0].GetString() ?? "", e[1].GetInt64(), e[2].GetInt64())).ToArray();
    }

    /// <summary>The categories a report contributes to its version's baseline (distinct names).</summary>
    public static List<CategoryAmount> BaselineCategories(IEnumerable<CategoryAmount> all)
    {
        var list = all.ToList();
        var chosen = new Dictionary<string, CategoryAmount>(StringComparer.Ordinal);
        foreach (var c in list.OrderByDescending(c => c.Size).Take(CategoriesPerReport)) chosen.TryAdd(c.Name, c);
        foreach (var c in list.OrderByDescending(c => c.Count).Take(CategoriesPerReport / 2)) chosen.TryAdd(c.Name, c);
        foreach (var c in list.Where(c => ReportAnalyzer.UiRules.Any(r => r.Pattern.IsMatch(c.Name)))) chosen.TryAdd(c.Name, c);
        return chosen.Values.ToList();
    }

    public static IEnumerable<CategoryAmount[]> LoadBaseline(Database database, string app, string version)
    {
        using var connection = database.Open();
        var rows = connection.Query<string>(
            """
            SELECT d.baseline_categories FROM reports r JOIN report_data d ON d.report_row = r.id
            WHERE r.app_id = @app AND r.app_version = @version ORDER BY r.id DESC LIMIT @window
            """,
            new { app, version, window = BaselineCache.Window }).ToList();
        rows.Reverse();
        return rows.Select(DecodeCategories).ToList();
    }

    /// <summary>
    /// The second-level groups of an app, by report count and then bytes, counting the reports
    /// <paramref name="filter"/> lets through, each with its state.
    /// </summary>
    public static List<IssueRow> Issues(DbConnection connection, string app, int limit = 500, string? issueKey = null, IssueFilter? filter = null)
    {
        filter ??= IssueFilter.None;
        var where = " WHERE app_id = @app"
            + (issueKey is null ? "" : " AND issue_key = @issueKey")
            + (filter.Version is null ? "" : " AND app_version = @Version")
            + (filter.ReasonKind is null ? "" : " AND reason_kind = @ReasonKind")
            + (filter.Device is null ? "" : " AND phone = @Device")
            + (filter.Category is null ? "" : @" AND LOWER(category) LIKE @categoryLike ESCAPE '\'")
            + (filter.Caller is null ? "" : @" AND (LOWER(caller1) LIKE @callerLike ESCAPE '\' OR LOWER(caller2) LIKE @callerLike ESCAPE '\')");
        var parameters = new
        {
            app, issueKey, limit = filter.State is null ? limit : int.MaxValue, filter.Version, filter.ReasonKind, filter.Device,
            categoryLike = Contains(filter.Category), callerLike = Contains(filter.Caller),
        };
        var issues = connection.Query<IssueRow>("""
            SELECT issue_key AS IssueKey, MIN(level1_key) AS Level1Key, MIN(caller1) AS Caller1, MIN(caller2) AS Caller2,
                   MIN(category) AS Category, MIN(reason_kind) AS ReasonKind,
                   COUNT(*) AS Reports, COUNT(DISTINCT device_id) AS Devices, COUNT(DISTINCT user_id) AS Users,
                   CAST(SUM(suspect_size) AS BIGINT) AS Bytes, MIN(received_at) AS FirstSeen, MAX(received_at) AS LastSeen, MAX(id) AS LatestId
            FROM reports
            """ + where + """

            GROUP BY issue_key
            ORDER BY COUNT(*) DESC, SUM(suspect_size) DESC, issue_key
            LIMIT @limit
            """, parameters).ToList();
        if (issues.Count == 0) return issues;
        // Versions and the latest reason for all the app's issues at once: no IN-lists, which
        // Dapper expands differently per provider.
        var byKey = issues.ToDictionary(i => i.IssueKey);
        var versions = connection.Query<(string Key, string Version)>("SELECT DISTINCT issue_key, app_version FROM reports" + where, parameters);
        foreach (var (key, version) in versions.OrderBy(v => v.Version, VersionOrder.Comparer))
            if (byKey.TryGetValue(key, out var issue)) issue.Versions.Add(version);
        var reasons = connection.Query<(string Key, string Reason)>(
            "SELECT r.issue_key, r.reason FROM reports r WHERE r.id IN (SELECT MAX(id) FROM reports" + where + " GROUP BY issue_key)", parameters);
        foreach (var (key, reason) in reasons)
            if (byKey.TryGetValue(key, out var issue)) issue.Reason = reason;
        IssueStates.Apply(connection, app, issues);
        return filter.State is null ? issues : issues.Where(i => i.State == filter.State).Take(limit).ToList();
    }

    // A LIKE pattern for "contains", lower-cased, with the wildcards in the text taken literally.
    private static string? Contains(string? text) =>
        text is null ? null : "%" + text.ToLowerInvariant().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";

    public static StoredReport? Find(DbConnection connection, string reportId) =>
        connection.QuerySingleOrDefault<StoredReport>(SelectWithData + " WHERE r.report_id = @reportId", new { reportId });

    /// <summary>An issue's reports, newest first, from below row <paramref name="beforeId"/> (a page's cursor).</summary>
    public static List<StoredReport> OfIssue(DbConnection connection, string app, string issueKey, int limit = 200, long beforeId = long.MaxValue) =>
        connection.Query<StoredReport>(SelectSummary + " WHERE r.app_id = @app AND r.issue_key = @issueKey AND r.id < @beforeId ORDER BY r.id DESC LIMIT @limit",
            new { app, issueKey, limit, beforeId }).ToList();

    /// <summary>An app's reports, newest first, from below row <paramref name="beforeId"/> (a page's cursor).</summary>
    public static List<StoredReport> Latest(DbConnection connection, string app, int limit = 50, long beforeId = long.MaxValue) =>
        connection.Query<StoredReport>(SelectSummary + " WHERE r.app_id = @app AND r.id < @beforeId ORDER BY r.id DESC LIMIT @limit",
            new { app, limit, beforeId }).ToList();

    private const string SummaryColumns = """
        r.id AS Id, r.report_id AS ReportId, r.source AS Source, r.app_id AS AppId, r.platform AS Platform, r.app_version AS AppVersion,
        r.app_uuid AS AppUuid, r.device_id AS DeviceId, r.user_id AS UserId, r.phone AS Phone, r.os_ver AS OsVer, r.exit_reason AS ExitReason,
        r.scene AS Scene, r.launch_time AS LaunchTime, r.report_time AS ReportTime, r.received_at AS ReceivedAt, r.day AS Day,
        r.limit_bytes AS LimitBytes, r.footprint_bytes AS FootprintBytes, r.live_bytes AS LiveBytes, r.live_count AS LiveCount,
        r.item_count AS ItemCount, r.raw_size AS RawSize, r.caller1 AS Caller1, r.caller1_key AS Caller1Key, r.caller2 AS Caller2,
        r.category AS Category, r.reason_kind AS ReasonKind, r.reason AS Reason, r.severity AS Severity, r.suspect_size AS SuspectSize,
        r.level1_key AS Level1Key, r.issue_key AS IssueKey, r.analysis_version AS AnalysisVersion
        """;

    // Lists join the suspects by primary key, a page of rows at a time; only one report brings its raw upload.
    private const string SelectSummary = "SELECT " + SummaryColumns + ", d.suspects_json AS SuspectsJson FROM reports r JOIN report_data d ON d.report_row = r.id";
    private const string SelectWithData = "SELECT " + SummaryColumns + ", d.suspects_json AS SuspectsJson, d.raw_gzip AS RawGzip FROM reports r JOIN report_data d ON d.report_row = r.id";
}
