using System.Data.Common;
using Dapper;

namespace Foom.Server.Data;

/// <summary>An issue's first and last report of one app version.</summary>
public sealed record IssueVersion(string Version, long Reports, long FirstSeen, long LastSeen);

/// <summary>Reports and devices of an issue on one day (days since 1970-01-01, UTC).</summary>
public sealed record IssueDay(long Day, long Reports, long Devices);

/// <summary>
/// An issue's life: open until resolved; resolved in the newest version it had then; regressed
/// when a report from a newer version arrives after that. The regression is read from the
/// reports, so it needs no step at ingest and a re-analysis cannot lose it.
/// </summary>
public static class IssueStates
{
    public const string Open = "open";
    public const string Resolved = "resolved";
    public const string Regressed = "regressed";

    private sealed record StateRow(string IssueKey, string State, long? ResolvedAt, string? ResolvedVersion);

    /// <summary>Sets each issue's state from the stored ones and the reports since.</summary>
    public static void Apply(DbConnection connection, string app, IReadOnlyList<IssueRow> issues)
    {
        if (issues.Count == 0) return;
        var states = connection.Query<StateRow>(
            "SELECT issue_key AS IssueKey, state AS State, resolved_at AS ResolvedAt, resolved_version AS ResolvedVersion FROM issue_states WHERE app_id = @app",
            new { app }).ToDictionary(s => s.IssueKey);
        foreach (var issue in issues)
        {
            issue.State = Open;
            if (!states.TryGetValue(issue.IssueKey, out var state) || state.State != Resolved) continue;
            issue.ResolvedAt = state.ResolvedAt;
            issue.ResolvedVersion = state.ResolvedVersion;
            var since = connection.Query<string>(
                "SELECT DISTINCT app_version FROM reports WHERE app_id = @app AND issue_key = @key AND received_at > @at",
                new { app, key = issue.IssueKey, at = state.ResolvedAt ?? 0 });
            issue.State = since.Any(v => VersionOrder.Compare(v, state.ResolvedVersion) > 0) ? Regressed : Resolved;
        }
    }

    /// <summary>Resolves the issue in <paramref name="version"/> (its newest version when null).</summary>
    public static void Resolve(DbConnection connection, string app, string issueKey, string? version, long now)
    {
        version ??= connection.Query<string>("SELECT DISTINCT app_version FROM reports WHERE app_id = @app AND issue_key = @issueKey", new { app, issueKey })
            .OrderDescending(VersionOrder.Comparer).FirstOrDefault();
        Save(connection, app, issueKey, Resolved, now, version, now);
    }

    public static void Reopen(DbConnection connection, string app, string issueKey, long now) =>
        Save(connection, app, issueKey, Open, null, null, now);

    private static void Save(DbConnection connection, string app, string issueKey, string state, long? resolvedAt, string? resolvedVersion, long now) =>
        connection.Execute("""
            INSERT INTO issue_states (app_id, issue_key, state, resolved_at, resolved_version, changed_at)
            VALUES (@app, @issueKey, @state, @resolvedAt, @resolvedVersion, @now)
            ON CONFLICT (app_id, issue_key) DO UPDATE SET state = excluded.state, resolved_at = excluded.resolved_at,
                resolved_version = excluded.resolved_version, changed_at = excluded.changed_at
            """, new { app, issueKey, state, resolvedAt, resolvedVersion, now });

    public static List<IssueDay> Trend(DbConnection connection, string app, string issueKey) =>
        connection.Query<IssueDay>("""
            SELECT day AS Day, COUNT(*) AS Reports, COUNT(DISTINCT device_id) AS Devices
            FROM reports WHERE app_id = @app AND issue_key = @issueKey GROUP BY day ORDER BY day
            """, new { app, issueKey }).ToList();

    public static List<IssueVersion> Versions(DbConnection connection, string app, string issueKey) =>
        connection.Query<IssueVersion>("""
            SELECT app_version AS Version, COUNT(*) AS Reports, MIN(received_at) AS FirstSeen, MAX(received_at) AS LastSeen
            FROM reports WHERE app_id = @app AND issue_key = @issueKey GROUP BY app_version
            """, new { app, issueKey }).OrderByDescending(v => v.Version, VersionOrder.Comparer).ToList();
}
