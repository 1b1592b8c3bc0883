using System.Data.Common;
using Dapper;

namespace Foom.Server.Data;

public sealed class JetsamRow
{
    public string EventKey { get; set; } = "";
    public string? AppId { get; set; }
    public string? DeviceModel { get; set; }
    public string? OsVersion { get; set; }
    public long? EventTime { get; set; }
    public long PageSize { get; set; }
    public string? LargestProcess { get; set; }
    public string? KilledProcess { get; set; }
    public string? KillReason { get; set; }
    public long? KilledFootprintBytes { get; set; }
    public long? LimitBytes { get; set; }
    public long Processes { get; set; }
    public long ReceivedAt { get; set; }
    public byte[] RawGzip { get; set; } = [];
}

/// <summary>One device model's observed memory limits, from JetsamEvent logs and kill records.</summary>
public sealed class DeviceLimitRow
{
    public string DeviceModel { get; set; } = "";
    public string Source { get; set; } = "";
    public long Observations { get; set; }
    public long MinBytes { get; set; }
    public long MaxBytes { get; set; }
    public long LatestBytes { get; set; }
    public long LastSeen { get; set; }
}

public static class JetsamStore
{
    public static bool Insert(DbConnection connection, DbTransaction transaction, JetsamRow row) =>
        connection.Execute("""
            INSERT INTO jetsam_events (event_key, app_id, device_model, os_version, event_time, page_size, largest_process, killed_process,
                kill_reason, killed_footprint_bytes, limit_bytes, processes, received_at, raw_gzip)
            VALUES (@EventKey, @AppId, @DeviceModel, @OsVersion, @EventTime, @PageSize, @LargestProcess, @KilledProcess,
                @KillReason, @KilledFootprintBytes, @LimitBytes, @Processes, @ReceivedAt, @RawGzip)
            ON CONFLICT (event_key) DO NOTHING
            """, row, transaction) == 1;

    /// <summary>
    /// Device model → observed app memory limits. JetsamEvent logs give a limit where a frontmost
    /// app was killed for crossing its own limit (per-process-limit, highwater): daemons and
    /// background apps have other limits and are not counted. Foom and Matrix reports of
    /// foreground OOMs give the limit the recorder knew (cgroup, Foom's own) or, failing that,
    /// the footprint at death as a lower bound of it. Dated by the log or report, not the upload.
    /// </summary>
    public static List<DeviceLimitRow> DeviceLimits(DbConnection connection, IEnumerable<JetsamKill> kills)
    {
        var jetsam = kills.Where(k => k.RevealsAppLimit && k.DeviceModel is not null).GroupBy(k => k.DeviceModel!).Select(g =>
        {
            var latest = g.MaxBy(k => k.EventTime ?? k.ReceivedAt)!;
            return new DeviceLimitRow
            {
                DeviceModel = g.Key, Source = "JetsamEvent (frontmost app)", Observations = g.Count(),
                MinBytes = g.Min(k => k.LimitBytes!.Value), MaxBytes = g.Max(k => k.LimitBytes!.Value),
                LatestBytes = latest.LimitBytes!.Value, LastSeen = latest.EventTime ?? latest.ReceivedAt,
            };
        });
        var reports = connection.Query<DeviceLimitRow>("""
            SELECT phone AS DeviceModel,
                   CASE WHEN MAX(limit_bytes) IS NOT NULL THEN 'kill records (limit)' ELSE 'kill records (footprint at death)' END AS Source,
                   COUNT(*) AS Observations,
                   MIN(COALESCE(limit_bytes, footprint_bytes)) AS MinBytes, MAX(COALESCE(limit_bytes, footprint_bytes)) AS MaxBytes,
                   MAX(COALESCE(report_time, received_at)) AS LastSeen,
                   (SELECT COALESCE(r2.limit_bytes, r2.footprint_bytes) FROM reports r2 WHERE r2.phone = r.phone
                    AND r2.exit_reason = 'foreground_oom' AND COALESCE(r2.limit_bytes, r2.footprint_bytes) IS NOT NULL
                    ORDER BY r2.id DESC LIMIT 1) AS LatestBytes
            FROM reports r WHERE exit_reason = 'foreground_oom' AND phone IS NOT NULL AND COALESCE(limit_bytes, footprint_bytes) IS NOT NULL
            GROUP BY phone
            """);
        return jetsam.Concat(reports).OrderBy(r => r.DeviceModel, StringComparer.Ordinal).ThenBy(r => r.Source, StringComparer.Ordinal).ToList();
    }
}
