using System.ComponentModel;
using System.Text.Json;
using Foom.Report.Pprof;
using Foom.Server.Analysis;
using Foom.Server.Api.Models;
using Foom.Server.Auth;
using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;

namespace Foom.Server.Api;

/// <summary>
/// The read API under /api/v1, described by the OpenAPI document at /openapi/v1.json (shown at
/// /api-reference). It takes `Authorization: Bearer $FOOM_ADMIN_TOKEN`, or the pages' login for
/// GET requests (a browser's cookie is never enough to change anything). Errors are RFC 7807
/// problem details; lists are paged by cursor (<see cref="ApiPaging"/>).
/// </summary>
public static class ReadEndpoints
{
    public const string Tag = "read";

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").WithTags(Tag).AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            try
            {
                Authorize(http);
                return await next(context);
            }
            catch (ApiProblemException e)
            {
                return Problem(e.Status, e.Message);
            }
            catch (UploadRejectedException e)
            {
                return Problem(e.StatusCode, e.Message);
            }
        }).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized);

        api.MapGet("/apps", Apps).WithSummary("The apps with reports or launch records");
        api.MapGet("/apps/{app}/issues", Issues).WithSummary("An app's issues, most reports first, filtered by the reports they count")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/apps/{app}/issues/{issue}", Issue).WithSummary("One issue with its reports and devices per day and its versions")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/apps/{app}/issues/{issue}/reports", IssueReports).WithSummary("An issue's reports, newest first")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/apps/{app}/reports", AppReports).WithSummary("An app's reports, newest first").ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/apps/{app}/rates", Rates).WithSummary("FOOM, watchdog and crash rates per UTC day and version, from launch records")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/reports/{reportId}", Report).WithSummary("One report as filed, or the upload itself with raw=true")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/reports/{reportId}/pprof", Pprof).WithSummary("One report as pprof (gzip'ed profile.proto), its frames named as the report page names them")
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/device-limits", DeviceLimits).WithSummary("App memory limits per device model, from JetsamEvent logs and kill records");
        api.MapPost("/apps/{app}/reanalyze", Reanalyze).WithSummary("Analyse and group an app's reports again with the current rules")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    // The token for everything; the pages' session for reading only, so that no other site can
    // make a logged-in browser change anything here.
    private static void Authorize(HttpContext http)
    {
        var options = http.RequestServices.GetRequiredService<FoomServerOptions>();
        var header = http.Request.Headers.Authorization;
        if (options.AdminToken is not null && Bearer.Matches(header, options.AdminToken)) return;
        if (header.Count == 0 && HttpMethods.IsGet(http.Request.Method) && http.User.Identity?.IsAuthenticated == true) return;
        throw new ApiProblemException(401, options.AdminToken is null
            ? "FOOM_ADMIN_TOKEN is not set on the server: the read API takes only the pages' login, for GET requests"
            : "missing or wrong admin token: send Authorization: Bearer $FOOM_ADMIN_TOKEN (or log in to the pages, for GET requests)");
    }

    public static ProblemHttpResult Problem(int status, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: ReasonPhrases.GetReasonPhrase(status));

    private static Ok<List<ApiApp>> Apps(HttpContext http, Database database,
        [Description("page size, 1 to 1000 (100)")] string? limit, [Description("from the Link header of the previous page")] string? cursor)
    {
        ApiQuery.Allow(http, "limit", "cursor");
        var paging = ApiPaging.Read(limit, cursor);
        using var connection = database.Open();
        return TypedResults.Ok(paging.Page(http, AppStore.Apps(connection).Select(a => new ApiApp(a.AppId, a.Reports, a.Launches, a.LastReport)).ToList()));
    }

    private static Ok<List<ApiIssue>> Issues(HttpContext http, string app, Database database, HintStore hints,
        [Description("exact app version")] string? version, [Description("reason kind, e.g. size or count")] string? reason,
        [Description("category contains this text")] string? category, [Description("Caller1 or Caller2 contains this text")] string? caller,
        [Description("exact device model (head.phone)")] string? device, [Description("open, resolved or regressed")] string? state,
        [Description("page size, 1 to 1000 (100)")] string? limit, [Description("from the Link header of the previous page")] string? cursor)
    {
        ApiQuery.Allow(http, "version", "reason", "category", "caller", "device", "state", "limit", "cursor");
        var paging = ApiPaging.Read(limit, cursor);
        var filter = new IssueFilter(ApiQuery.Text(version, "version"), ApiQuery.Text(reason, "reason"), ApiQuery.Text(category, "category"),
            ApiQuery.Text(caller, "caller"), ApiQuery.Text(device, "device"), ApiQuery.OneOf(state, "state", IssueFilter.States));
        using var connection = database.Open();
        app = KnownApp(connection, app);
        var all = ReportStore.Issues(connection, app, limit: 100_000, filter: filter);
        return TypedResults.Ok(paging.Page(http, all.Select(i => ToApi(i, hints)).ToList()));
    }

    private static Ok<ApiIssueDetail> Issue(HttpContext http, string app, string issue, Database database, HintStore hints)
    {
        ApiQuery.Allow(http);
        using var connection = database.Open();
        var (appId, row) = KnownIssue(connection, app, issue);
        var days = IssueStates.Trend(connection, appId, row.IssueKey).Select(d => new ApiIssueDay(Pages.Format.Day(d.Day), d.Reports, d.Devices)).ToList();
        var versions = IssueStates.Versions(connection, appId, row.IssueKey).Select(v => new ApiIssueVersion(v.Version, v.Reports, v.FirstSeen, v.LastSeen)).ToList();
        return TypedResults.Ok(new ApiIssueDetail(ToApi(row, hints), days, versions));
    }

    private static Ok<List<ApiReport>> IssueReports(HttpContext http, string app, string issue, Database database,
        [Description("page size, 1 to 1000 (100)")] string? limit, [Description("from the Link header of the previous page")] string? cursor)
    {
        ApiQuery.Allow(http, "limit", "cursor");
        var paging = ApiPaging.Read(limit, cursor);
        using var connection = database.Open();
        var (appId, row) = KnownIssue(connection, app, issue);
        return TypedResults.Ok(KeysetPage(http, paging, ReportStore.OfIssue(connection, appId, row.IssueKey, paging.Limit + 1, Before(paging))));
    }

    private static Ok<List<ApiReport>> AppReports(HttpContext http, string app, Database database,
        [Description("page size, 1 to 1000 (100)")] string? limit, [Description("from the Link header of the previous page")] string? cursor)
    {
        ApiQuery.Allow(http, "limit", "cursor");
        var paging = ApiPaging.Read(limit, cursor);
        using var connection = database.Open();
        var appId = KnownApp(connection, app);
        return TypedResults.Ok(KeysetPage(http, paging, ReportStore.Latest(connection, appId, paging.Limit + 1, Before(paging))));
    }

    private static Ok<List<ApiRate>> Rates(HttpContext http, string app, Database database,
        [Description("days back from today (UTC), 1 to 3650 (30)")] string? days,
        [Description("page size, 1 to 1000 (100)")] string? limit, [Description("from the Link header of the previous page")] string? cursor)
    {
        ApiQuery.Allow(http, "days", "limit", "cursor");
        var span = ApiQuery.Int(days, "days", 1, 3650, 30);
        var paging = ApiPaging.Read(limit, cursor);
        using var connection = database.Open();
        var appId = KnownApp(connection, app);
        var rows = LaunchStore.Rates(connection, appId, Pages.Format.Today() - span + 1).Select(r => new ApiRate(Pages.Format.Day(r.Day), r.AppVersion,
            r.Launches, r.PreviousRuns, r.Fooms, r.Watchdogs, r.Crashes, r.FoomRate, r.WatchdogRate, r.CrashRate)).ToList();
        return TypedResults.Ok(paging.Page(http, rows));
    }

    private static Results<Ok<ApiReport>, FileContentHttpResult> Report(HttpContext http, string reportId, Database database,
        [Description("true for the upload as it was sent (JSON)")] string? raw)
    {
        ApiQuery.Allow(http, "raw");
        var wantRaw = ApiQuery.Bool(raw, "raw");
        using var connection = database.Open();
        var report = ReportStore.Find(connection, reportId) ?? throw new ApiProblemException(404, $"no report has the id '{ApiQuery.Short(reportId)}'");
        if (wantRaw) return TypedResults.File(UploadBody.Gunzip(report.RawGzip), "application/json");
        return TypedResults.Ok(Summary(report));
    }

    // docs/report-format.md, "pprof".
    private static async Task<FileContentHttpResult> Pprof(HttpContext http, string reportId, Database database,
        ReportSymbolication symbolication, CancellationToken cancellationToken)
    {
        ApiQuery.Allow(http);
        StoredReport? row;
        using (var connection = database.Open()) row = ReportStore.Find(connection, reportId);
        if (row is null) throw new ApiProblemException(404, $"no report has the id '{ApiQuery.Short(reportId)}'");
        var report = ReportParser.Deserialize(UploadBody.Gunzip(row.RawGzip));
        await symbolication.ApplyAsync(report, cancellationToken);
        using var profile = new MemoryStream();
        PprofView.Write(report, profile);
        return TypedResults.File(profile.ToArray(), "application/octet-stream", PprofFileName(reportId));
    }

    /// <summary>A download name for the profile: the report id with anything but letters, digits, '-', '_' and '.' replaced.</summary>
    private static string PprofFileName(string reportId) =>
        new string(reportId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()) + ".pb.gz";

    private static Ok<List<ApiDeviceLimit>> DeviceLimits(HttpContext http, Database database, JetsamKills jetsamKills,
        [Description("page size, 1 to 1000 (100)")] string? limit, [Description("from the Link header of the previous page")] string? cursor)
    {
        ApiQuery.Allow(http, "limit", "cursor");
        var paging = ApiPaging.Read(limit, cursor);
        var (kills, _) = jetsamKills.All(database);
        using var connection = database.Open();
        var rows = JetsamStore.DeviceLimits(connection, kills)
            .Select(d => new ApiDeviceLimit(d.DeviceModel, d.Source, d.Observations, d.MinBytes, d.MaxBytes, d.LatestBytes, d.LastSeen)).ToList();
        return TypedResults.Ok(paging.Page(http, rows));
    }

    private static async Task<Ok<ApiReanalysis>> Reanalyze(HttpContext http, string app, Database database, Reanalysis reanalysis, CancellationToken cancellationToken)
    {
        ApiQuery.Allow(http);
        string appId;
        using (var connection = database.Open()) appId = KnownApp(connection, app);
        var changed = await reanalysis.RunAsync(appId, cancellationToken);
        return TypedResults.Ok(new ApiReanalysis(appId, changed.Reports, changed.Changed));
    }

    private static string KnownApp(System.Data.Common.DbConnection connection, string app)
    {
        var appId = ReportParser.CheckAppId(app, "app");
        if (!AppStore.Exists(connection, appId)) throw new ApiProblemException(404, $"no report or launch record of an app '{appId}' has reached this server");
        return appId;
    }

    private static (string App, IssueRow Issue) KnownIssue(System.Data.Common.DbConnection connection, string app, string issue)
    {
        var appId = KnownApp(connection, app);
        var row = ReportStore.Issues(connection, appId, limit: 1, issueKey: issue).FirstOrDefault()
            ?? throw new ApiProblemException(404, $"{appId} has no issue '{ApiQuery.Short(issue)}'");
        return (appId, row);
    }

    private static long Before(ApiPaging paging) => paging.Position == 0 ? long.MaxValue : paging.Position;

    // Reports page by row: one more than the page was read, to know whether there is a next one.
    private static List<ApiReport> KeysetPage(HttpContext http, ApiPaging paging, List<StoredReport> rows)
    {
        if (rows.Count > paging.Limit)
        {
            rows.RemoveAt(rows.Count - 1);
            paging.Next(http, rows[^1].Id);
        }
        return rows.Select(Summary).ToList();
    }

    private static ApiIssue ToApi(IssueRow i, HintStore hints) => new(i.IssueKey, i.Level1Key, i.Caller1, i.Caller2, i.Category, i.ReasonKind, i.Reason,
        i.State, i.ResolvedVersion, i.ResolvedAt, i.Reports, i.Devices, i.Users, i.Versions, i.Bytes, i.FirstSeen, i.LastSeen,
        hints.Current.Match(i.Category, i.Caller1, i.Caller2, i.ReasonKind).Select(h => new ApiHint(h.Id, h.Title, h.Advice)).ToList());

    public static ApiReport Summary(StoredReport r)
    {
        using var suspects = JsonDocument.Parse(r.SuspectsJson);
        return new ApiReport(r.ReportId, r.Source, r.AppId, r.AppVersion, r.Platform, r.DeviceId, r.UserId, r.Phone, r.OsVer, r.ExitReason, r.ReceivedAt,
            r.FootprintBytes, r.LimitBytes, r.LiveBytes, r.LiveCount, r.IssueKey,
            new ApiEigenvalue(r.Caller1, r.Caller2, r.Category, r.ReasonKind, r.Reason, r.Severity), suspects.RootElement.Clone());
    }
}
