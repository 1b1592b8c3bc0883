using Dapper;
using System.Data.Common;

namespace Foom.Server.Data;

/// <summary>One start of an app, carrying how its previous run ended (the FOOM rate's denominator and numerator).</summary>
public sealed class LaunchRow
{
    public string LaunchId { get; set; } = "";
    public string AppId { get; set; } = "";
    public string AppVersion { get; set; } = "";
    public string? DeviceId { get; set; }
    public string? UserId { get; set; }
    public string? Phone { get; set; }
    public string? OsVer { get; set; }
    public long LaunchTime { get; set; }
    public long Day { get; set; }
    public string PrevExitReason { get; set; } = "";
    public string? PrevExitHow { get; set; }
    public string? PrevAppVersion { get; set; }
    public long ReceivedAt { get; set; }
}

/// <summary>
/// Launches per day and version, with how many of the previous runs ended in each way. A launch
/// reports the end of the run before it, so the rates' denominator is <see cref="PreviousRuns"/>:
/// the launches that had a previous run (a device's first run has none).
/// </summary>
public sealed class RateRow
{
    public long Day { get; set; }
    public string AppVersion { get; set; } = "";
    public long Launches { get; set; }
    public long PreviousRuns { get; set; }
    public long Fooms { get; set; }
    public long Watchdogs { get; set; }
    public long Crashes { get; set; }
    public double FoomRate => PreviousRuns == 0 ? 0 : (double)Fooms / PreviousRuns;
    public double WatchdogRate => PreviousRuns == 0 ? 0 : (double)Watchdogs / PreviousRuns;
    public double CrashRate => PreviousRuns == 0 ? 0 : (double)Crashes / PreviousRuns;
}

public static class LaunchStore
{
    public static int Insert(DbConnection connection, DbTransaction transaction, IEnumerable<LaunchRow> launches) =>
        launches.Sum(launch => connection.Execute("""
            INSERT INTO launches (launch_id, app_id, app_version, device_id, user_id, phone, os_ver, launch_time, day,
                prev_exit_reason, prev_exit_how, prev_app_version, received_at)
            VALUES (@LaunchId, @AppId, @AppVersion, @DeviceId, @UserId, @Phone, @OsVer, @LaunchTime, @Day,
                @PrevExitReason, @PrevExitHow, @PrevAppVersion, @ReceivedAt)
            ON CONFLICT (launch_id) DO NOTHING
            """, launch, transaction));

    /// <summary>Rates per day and version; a FOOM is a previous run that ended in foreground_oom, counted on the day of the launch that reported it.</summary>
    public static List<RateRow> Rates(DbConnection connection, string app, long fromDay) =>
        connection.Query<RateRow>("""
            SELECT day AS Day, app_version AS AppVersion, COUNT(*) AS Launches,
                   SUM(CASE WHEN prev_exit_reason = 'first_run' THEN 0 ELSE 1 END) AS PreviousRuns,
                   SUM(CASE WHEN prev_exit_reason = 'foreground_oom' THEN 1 ELSE 0 END) AS Fooms,
                   SUM(CASE WHEN prev_exit_reason = 'watchdog' THEN 1 ELSE 0 END) AS Watchdogs,
                   SUM(CASE WHEN prev_exit_reason = 'crash' THEN 1 ELSE 0 END) AS Crashes
            FROM launches WHERE app_id = @app AND day >= @fromDay
            GROUP BY day, app_version ORDER BY day, app_version
            """, new { app, fromDay }).ToList();
}
