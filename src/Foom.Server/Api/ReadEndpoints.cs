using System.Text.Json;
using Dapper;
using Foom.Report.Pprof;
using Foom.Server.Analysis;
using Foom.Server.Auth;
using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Foom.Server.Api;

/// <summary>The read API, behind `Authorization: Bearer $FOOM_ADMIN_TOKEN`.</summary>
public static class ReadEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").AddEndpointFilter(async (context, next) =>
        {
            var options = context.HttpContext.RequestServices.GetRequiredService<FoomServerOptions>();
            if (options.AdminToken is null)
                return IngestEndpoints.Error(401, "the read API is off: FOOM_ADMIN_TOKEN is not set on the server");
            if (!Bearer.Matches(context.HttpContext.Request.Headers.Authorization, options.AdminToken))
                return IngestEndpoints.Error(401, "missing or wrong admin token: send Authorization: Bearer $FOOM_ADMIN_TOKEN");
            return await next(context);
        });
        api.MapGet("/apps", (Database database) =>
        {
            using var connection = database.Open();
            return Results.Json(AppStore.Apps(connection).Select(a => new
            {
                app = a.AppId, reports = a.Reports, launches = a.Launches, last_report = a.LastReport,
            }));
        });
        api.MapGet("/apps/{app}/issues", (string app, Database database, HintStore hints) =>
        {
            app = ReportParser.CheckAppId(app, "app");
            using var connection = database.Open();
            var hintRules = hints.Current;
            return Results.Json(ReportStore.Issues(connection, app).Select(i => new
            {
                issue = i.IssueKey,
                level1 = i.Level1Key,
                caller1 = i.Caller1,
                caller2 = i.Caller2,
                category = i.Category,
                reason_kind = i.ReasonKind,
                reason = i.Reason,
                reports = i.Reports,
                devices = i.Devices,
                users = i.Users,
                versions = i.Versions,
                bytes = i.Bytes,
                first_seen = i.FirstSeen,
                last_seen = i.LastSeen,
                hints = hintRules.Match(i.Category, i.Caller1, i.Caller2, i.ReasonKind).Select(h => new { id = h.Id, title = h.Title, advice = h.Advice }),
            }));
        });
        api.MapGet("/apps/{app}/issues/{issue}/reports", (string app, string issue, Database database) =>
        {
            app = ReportParser.CheckAppId(app, "app");
            using var connection = database.Open();
            return Results.Json(ReportStore.OfIssue(connection, app, issue).Select(Summary));
        });
        api.MapGet("/apps/{app}/rates", (string app, int? days, Database database) =>
        {
            app = ReportParser.CheckAppId(app, "app");
            using var connection = database.Open();
            var today = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 86_400_000;
            return Results.Json(LaunchStore.Rates(connection, app, today - Math.Clamp(days ?? 30, 1, 3650) + 1).Select(r => new
            {
                day = DateOnly.FromDayNumber((int)r.Day + DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber).ToString("yyyy-MM-dd"),
                version = r.AppVersion, launches = r.Launches, fooms = r.Fooms, watchdogs = r.Watchdogs, crashes = r.Crashes,
                foom_rate = r.FoomRate, watchdog_rate = r.WatchdogRate, crash_rate = r.CrashRate,
            }));
        });
        api.MapGet("/reports/{reportId}", (string reportId, bool? raw, Database database) =>
        {
            using var connection = database.Open();
            var report = ReportStore.Find(connection, reportId);
            if (report is null) return IngestEndpoints.Error(404, $"no report with id '{(reportId.Length > 80 ? reportId[..80] : reportId)}'");
            if (raw == true) return Results.Bytes(UploadBody.Gunzip(report.RawGzip), "application/json");
            return Results.Json(Summary(report));
        });
        // The report as pprof (docs/report-format.md, "pprof"), its frames named as the report page names them.
        api.MapGet("/reports/{reportId}/pprof", async (string reportId, Database database, ReportSymbolication symbolication, CancellationToken cancellationToken) =>
        {
            StoredReport? row;
            using (var connection = database.Open()) row = ReportStore.Find(connection, reportId);
            if (row is null) return IngestEndpoints.Error(404, $"no report with id '{(reportId.Length > 80 ? reportId[..80] : reportId)}'");
            var report = ReportParser.Deserialize(UploadBody.Gunzip(row.RawGzip));
            await symbolication.ApplyAsync(report, cancellationToken);
            using var profile = new MemoryStream();
            PprofView.Write(report, profile);
            return Results.File(profile.ToArray(), "application/octet-stream", PprofFileName(reportId));
        });
        api.MapGet("/device-limits", (Database database) =>
        {
            using var connection = database.Open();
            return Results.Json(JetsamStore.DeviceLimits(connection).Select(d => new
            {
                device_model = d.DeviceModel, source = d.Source, observations = d.Observations,
                min_bytes = d.MinBytes, max_bytes = d.MaxBytes, latest_bytes = d.LatestBytes, last_seen = d.LastSeen,
            }));
        });
        api.MapPost("/apps/{app}/reanalyze", async (string app, Reanalysis reanalysis, CancellationToken cancellationToken) =>
        {
            app = ReportParser.CheckAppId(app, "app");
            var changed = await reanalysis.RunAsync(app, cancellationToken);
            return Results.Json(new { app, reports = changed.Reports, issues_changed = changed.Changed });
        });
    }

    /// <summary>A download name for the profile: the report id with anything but letters, digits, '-', '_' and '.' replaced.</summary>
    private static string PprofFileName(string reportId) =>
        new string(reportId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()) + ".pb.gz";

    public static object Summary(StoredReport r) => new
    {
        report_id = r.ReportId,
        source = r.Source,
        app = r.AppId,
        version = r.AppVersion,
        platform = r.Platform,
        device = r.DeviceId,
        user = r.UserId,
        phone = r.Phone,
        os_ver = r.OsVer,
        exit_reason = r.ExitReason,
        received_at = r.ReceivedAt,
        footprint_bytes = r.FootprintBytes,
        limit_bytes = r.LimitBytes,
        live_bytes = r.LiveBytes,
        live_count = r.LiveCount,
        issue = r.IssueKey,
        eigenvalue = new { caller1 = r.Caller1, caller2 = r.Caller2, category = r.Category, reason_kind = r.ReasonKind, reason = r.Reason, severity = r.Severity },
        suspects = JsonDocument.Parse(r.SuspectsJson).RootElement,
    };
}
