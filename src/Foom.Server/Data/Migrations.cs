using System.Data.Common;
using Dapper;

namespace Foom.Server.Data;

/// <summary>
/// The versioned schema. Each migration is applied once, in order, inside a transaction that
/// also records it in schema_version, when the server starts. A migration is written once with
/// tokens for the few types the dialects spell differently; where a change needs different SQL
/// per dialect, a migration carries both texts. Never edit a migration that has shipped: add one.
/// </summary>
public static class Migrations
{
    public sealed record Migration(int Version, string Description, string Sql, string? PostgresSql = null);

    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "reports, categories, keys, settings", """
            CREATE TABLE settings (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL);

            CREATE TABLE ingest_keys (
                id {id},
                app_id TEXT NULL,
                label TEXT NOT NULL,
                key_hash TEXT NOT NULL UNIQUE,
                key_prefix TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT NULL);

            CREATE TABLE reports (
                id {id},
                report_id TEXT NOT NULL UNIQUE,
                source TEXT NOT NULL,
                app_id TEXT NOT NULL,
                platform TEXT NULL,
                app_version TEXT NOT NULL,
                app_uuid TEXT NULL,
                device_id TEXT NULL,
                user_id TEXT NULL,
                phone TEXT NULL,
                os_ver TEXT NULL,
                exit_reason TEXT NULL,
                scene TEXT NULL,
                launch_time BIGINT NULL,
                report_time BIGINT NULL,
                received_at BIGINT NOT NULL,
                day BIGINT NOT NULL,
                limit_bytes BIGINT NULL,
                footprint_bytes BIGINT NULL,
                live_bytes BIGINT NOT NULL,
                live_count BIGINT NOT NULL,
                item_count BIGINT NOT NULL,
                raw_size BIGINT NOT NULL,
                raw_gzip {blob} NOT NULL,
                caller1 TEXT NULL,
                caller1_key TEXT NULL,
                caller2 TEXT NULL,
                category TEXT NOT NULL,
                reason_kind TEXT NOT NULL,
                reason TEXT NOT NULL,
                severity {real} NOT NULL,
                suspect_size BIGINT NOT NULL,
                level1_key TEXT NOT NULL,
                issue_key TEXT NOT NULL,
                suspects_json TEXT NOT NULL,
                analysis_version BIGINT NOT NULL);
            CREATE INDEX reports_app_issue ON reports (app_id, issue_key);
            CREATE INDEX reports_app_level1 ON reports (app_id, level1_key);
            CREATE INDEX reports_app_version ON reports (app_id, app_version, id);
            CREATE INDEX reports_app_received ON reports (app_id, received_at);

            CREATE TABLE report_categories (
                report_row BIGINT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
                app_id TEXT NOT NULL,
                app_version TEXT NOT NULL,
                name TEXT NOT NULL,
                size BIGINT NOT NULL,
                count BIGINT NOT NULL,
                PRIMARY KEY (report_row, name));
            CREATE INDEX report_categories_version ON report_categories (app_id, app_version, report_row);
            """),
        new(2, "launch records and sampling policies", """
            CREATE TABLE launches (
                id {id},
                launch_id TEXT NOT NULL UNIQUE,
                app_id TEXT NOT NULL,
                app_version TEXT NOT NULL,
                device_id TEXT NULL,
                user_id TEXT NULL,
                phone TEXT NULL,
                os_ver TEXT NULL,
                launch_time BIGINT NOT NULL,
                day BIGINT NOT NULL,
                prev_exit_reason TEXT NOT NULL,
                prev_exit_how TEXT NULL,
                prev_app_version TEXT NULL,
                received_at BIGINT NOT NULL);
            CREATE INDEX launches_app_day ON launches (app_id, day, app_version);

            CREATE TABLE policies (
                app_id TEXT PRIMARY KEY,
                sample_rate {real} NOT NULL,
                whitelist_users TEXT NOT NULL,
                whitelist_devices TEXT NOT NULL,
                gray_versions TEXT NOT NULL,
                updated_at BIGINT NOT NULL);
            """),
        new(3, "JetsamEvent logs", """
            CREATE TABLE jetsam_events (
                id {id},
                event_key TEXT NOT NULL UNIQUE,
                app_id TEXT NULL,
                device_model TEXT NULL,
                os_version TEXT NULL,
                event_time BIGINT NULL,
                page_size BIGINT NOT NULL,
                largest_process TEXT NULL,
                killed_process TEXT NULL,
                kill_reason TEXT NULL,
                killed_footprint_bytes BIGINT NULL,
                limit_bytes BIGINT NULL,
                processes BIGINT NOT NULL,
                received_at BIGINT NOT NULL,
                raw_gzip {blob} NOT NULL);
            CREATE INDEX jetsam_events_model ON jetsam_events (device_model);
            """),
        // The baseline's categories move into the report row: about seventy rows and two index
        // entries per report were most of the ingest's write cost. Existing baselines restart
        // from the next reports (a re-analysis rebuilds none: the raw uploads remain).
        new(4, "baseline categories in the report row", """
            ALTER TABLE reports ADD COLUMN baseline_categories TEXT NOT NULL DEFAULT '';
            DROP TABLE report_categories;
            """),
        // The raw upload and the long texts move beside the row: in SQLite a column stored after
        // a large blob is reached through the blob's overflow pages, so listing issues over
        // 10 000 reports read every upload. The reports table keeps what lists and groups need.
        new(5, "raw uploads and long texts in report_data", """
            CREATE TABLE report_data (
                report_row BIGINT PRIMARY KEY REFERENCES reports (id) ON DELETE CASCADE,
                raw_gzip {blob} NOT NULL,
                suspects_json TEXT NOT NULL,
                baseline_categories TEXT NOT NULL);
            INSERT INTO report_data (report_row, raw_gzip, suspects_json, baseline_categories)
                SELECT id, raw_gzip, suspects_json, baseline_categories FROM reports;
            ALTER TABLE reports DROP COLUMN raw_gzip;
            ALTER TABLE reports DROP COLUMN suspects_json;
            ALTER TABLE reports DROP COLUMN baseline_categories;
            """),
        // An issue is open until someone resolves it; a report from a version newer than the one
        // it was resolved in shows it as regressed (worked out when read, from the reports). An
        // issue's trend reads its reports by day; lists page an app's reports by row.
        new(6, "issue states", """
            CREATE TABLE issue_states (
                app_id TEXT NOT NULL,
                issue_key TEXT NOT NULL,
                state TEXT NOT NULL,
                resolved_at BIGINT NULL,
                resolved_version TEXT NULL,
                changed_at BIGINT NOT NULL,
                PRIMARY KEY (app_id, issue_key));
            CREATE INDEX reports_app_issue_day ON reports (app_id, issue_key, day);
            CREATE INDEX reports_app_row ON reports (app_id, id);
            """),
    ];

    public static int Latest => All[^1].Version;

    /// <summary>Brings the schema up to date; returns the versions applied now.</summary>
    public static IReadOnlyList<int> Apply(Database database)
    {
        using var connection = database.Open();
        connection.Execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)");
        var applied = new List<int>();
        using var transaction = connection.BeginTransaction();
        // Two servers starting at once on one PostgreSQL database take turns here; SQLite's
        // transaction is already exclusive for writers.
        if (database.Kind == DatabaseKind.Postgres)
            connection.Execute("SELECT pg_advisory_xact_lock(7301175)", transaction: transaction);
        var current = connection.ExecuteScalar<long?>("SELECT MAX(version) FROM schema_version", transaction: transaction) ?? 0;
        if (current > Latest)
            throw new InvalidOperationException(
                $"{database.Description}: schema version {current} is newer than this Foom knows ({Latest}); use a newer foom serve.");
        foreach (var migration in All.Where(m => m.Version > current))
        {
            connection.Execute(Render(migration, database.Kind), transaction: transaction);
            connection.Execute("INSERT INTO schema_version (version, description, applied_at) VALUES (@Version, @Description, @Now)",
                new { migration.Version, migration.Description, Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, transaction);
            applied.Add(migration.Version);
        }
        transaction.Commit();
        return applied;
    }

    public static string Render(Migration migration, DatabaseKind kind)
    {
        var sql = kind == DatabaseKind.Postgres && migration.PostgresSql is not null ? migration.PostgresSql : migration.Sql;
        return kind == DatabaseKind.Postgres
            ? sql.Replace("{id}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY").Replace("{blob}", "BYTEA").Replace("{real}", "DOUBLE PRECISION")
            : sql.Replace("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT").Replace("{blob}", "BLOB").Replace("{real}", "REAL");
    }

    public static long CurrentVersion(DbConnection connection) =>
        connection.ExecuteScalar<long?>("SELECT MAX(version) FROM schema_version") ?? 0;
}
