using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;

namespace Foom.Server.Api;

/// <summary>
/// The upload side, all behind `Authorization: Bearer &lt;ingest key&gt;` (checked once per request
/// by <see cref="IngestKeyFilter"/>): 401 without a valid key, 400 naming what is malformed, 413
/// for too large or a decompression bomb, 415 for a body that is not JSON, 429 over the rate, and
/// 202 only after the upload is durable (200 when the same id was stored before). The handlers
/// only read the request and write the answer; the ingest work is in `Ingest/`.
/// </summary>
public static class IngestEndpoints
{
    public const string RatePolicy = "ingest";

    public static void Map(IEndpointRouteBuilder app)
    {
        var uploads = app.MapGroup("/api/v1").RequireRateLimiting(RatePolicy);
        uploads.MapPost("/reports", PostReport).AddEndpointFilter(new IngestKeyFilter(acceptAdminToken: false));
        uploads.MapPost("/matrix/memstat", PostMatrix).AddEndpointFilter(new IngestKeyFilter(acceptAdminToken: false));
        uploads.MapPost("/launches", PostLaunches).AddEndpointFilter(new IngestKeyFilter(acceptAdminToken: false));
        uploads.MapPost("/jetsam", PostJetsam).AddEndpointFilter(new IngestKeyFilter(acceptAdminToken: false));
        uploads.MapPost("/symbols", PostSymbols).AddEndpointFilter(new IngestKeyFilter(acceptAdminToken: false));
        uploads.MapGet("/policy", GetPolicy).AddEndpointFilter(new IngestKeyFilter(acceptAdminToken: true));
    }

    private static async Task<IResult> PostReport(HttpContext context, FoomServerOptions options, ReportIngest ingest)
    {
        var grant = IngestKeyFilter.Grant(context)!;
        RequireJson(context.Request);
        ReportIngest.Prepared prepared;
        // The upload and the parsed report are let go before the wait for the commit (ReportIngest says why).
        using (var body = await UploadBody.ReadAsync(context.Request, options.ReportLimits, context.RequestAborted))
        {
            var parsed = ReportParser.ParseFoom(body.Content.Span);
            if (!grant.Allows(parsed.AppId)) return NotForApp(parsed.AppId);
            prepared = await ingest.PrepareAsync(parsed, body, context.RequestAborted);
        }
        return Stored(await ingest.WriteAsync(prepared, context.RequestAborted));
    }

    private static async Task<IResult> PostMatrix(HttpContext context, FoomServerOptions options, ReportIngest ingest)
    {
        var grant = IngestKeyFilter.Grant(context)!;
        RequireJson(context.Request);
        var query = context.Request.Query;
        var app = Single(query, "app");
        if (app is not null && !grant.Allows(app)) return NotForApp(app);
        ReportIngest.Prepared prepared;
        using (var body = await UploadBody.ReadAsync(context.Request, options.ReportLimits, context.RequestAborted))
        {
            var parsed = ReportParser.ParseMatrix(body.Content.Span, app, Single(query, "version"), Single(query, "device"), Single(query, "user"));
            prepared = await ingest.PrepareAsync(parsed, body, context.RequestAborted);
        }
        return Stored(await ingest.WriteAsync(prepared, context.RequestAborted));
    }

    private static IResult Stored((bool Inserted, StoredReport Row) result) =>
        Results.Json(new
        {
            report_id = result.Row.ReportId,
            status = result.Inserted ? "stored" : "duplicate",
            issue = result.Inserted ? result.Row.IssueKey : null,
        }, statusCode: result.Inserted ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);

    private static async Task<IResult> PostLaunches(HttpContext context, FoomServerOptions options, LaunchIngest ingest)
    {
        RequireJson(context.Request);
        using var body = await UploadBody.ReadAsync(context.Request, options.SmallLimits, context.RequestAborted);
        var (received, stored) = await ingest.IngestAsync(body.Content, IngestKeyFilter.Grant(context)!, context.RequestAborted);
        return Results.Json(new { received, stored, duplicates = received - stored },
            statusCode: stored > 0 ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
    }

    /// <summary>A JetsamEvent log. Logs are per device, so the app is optional (?app= to tie it to one).</summary>
    private static async Task<IResult> PostJetsam(HttpContext context, FoomServerOptions options, JetsamIngest ingest)
    {
        var grant = IngestKeyFilter.Grant(context)!;
        var app = Single(context.Request.Query, "app");
        if (app is not null) app = ReportParser.CheckAppId(app, "app");
        else if (grant.AppId is not null) app = grant.AppId;
        if (app is not null && !grant.Allows(app)) return NotForApp(app);
        var media = (context.Request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        if (media is not ("" or "application/json" or "text/plain" or "application/octet-stream" or "application/gzip" or "application/x-gzip"))
            return Error(415, "send the .ips file as application/json, text/plain or application/octet-stream");
        using var body = await UploadBody.ReadAsync(context.Request, options.SmallLimits with { MaxBodyBytes = 8 << 20, MaxDecompressedBytes = 32 << 20 }, context.RequestAborted);
        var (inserted, row) = await ingest.IngestAsync(body, app, context.RequestAborted);
        return Results.Json(new
        {
            status = inserted ? "stored" : "duplicate",
            device_model = row.DeviceModel,
            killed_process = row.KilledProcess,
            kill_reason = row.KillReason,
            footprint_bytes = row.KilledFootprintBytes,
            limit_bytes = row.LimitBytes,
        }, statusCode: inserted ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
    }

    /// <summary>A symbol file as the raw body, gzip allowed; ?name= names it in messages.</summary>
    private static async Task<IResult> PostSymbols(HttpContext context, SymbolIngest ingest)
    {
        var name = Path.GetFileName(Single(context.Request.Query, "name") ?? "upload");
        if (name.Length is 0 or > 200 || name.Any(char.IsControl)) return Error(400, "the query parameter name must be a file name of 1 to 200 characters");
        var stored = await ingest.IngestAsync(context.Request, name, context.RequestAborted);
        return Results.Json(new
        {
            name,
            format = stored.Format,
            ids = stored.Ids.Select(i => new { id = i.Id, architecture = i.Architecture, stored = i.Stored }),
        }, statusCode: stored.Ids.Any(i => i.Stored) ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
    }

    /// <summary>Whether a client should upload; answers to an ingest key or the admin token.</summary>
    private static IResult GetPolicy(HttpContext context, Database database)
    {
        var grant = IngestKeyFilter.Grant(context);
        var query = context.Request.Query;
        var app = Single(query, "app");
        if (string.IsNullOrEmpty(app)) return Error(400, "the query parameter app is missing (GET /api/v1/policy?app=ID&device=&user=&version=)");
        app = ReportParser.CheckAppId(app, "app");
        if (grant is not null && !grant.Allows(app)) return NotForApp(app);
        var device = ReportParser.CheckOptional(Single(query, "device"), "device");
        var user = ReportParser.CheckOptional(Single(query, "user"), "user");
        var version = ReportParser.CheckOptional(Single(query, "version"), "version");
        using var connection = database.Open();
        var policy = PolicyStore.Get(connection, app);
        var (upload, why) = policy.Decide(device, user, version);
        return Results.Json(new
        {
            app,
            upload,
            why,
            sample_rate = policy.SampleRate,
            whitelist_users = policy.WhitelistUsers,
            whitelist_devices = policy.WhitelistDevices,
            gray_versions = policy.GrayVersions,
            updated_at = policy.UpdatedAt,
        });
    }

    private static void RequireJson(HttpRequest request)
    {
        var type = request.ContentType;
        if (string.IsNullOrEmpty(type)) return;
        var media = type.Split(';')[0].Trim().ToLowerInvariant();
        if (media is "application/json" or "text/json" or "application/gzip" or "application/x-gzip" || media.EndsWith("+json", StringComparison.Ordinal)) return;
        throw new UploadRejectedException(415, $"Content-Type '{(media.Length > 60 ? media[..60] : media)}' is not accepted; send application/json (gzip allowed with Content-Encoding: gzip)");
    }

    public static string? Single(IQueryCollection query, string name)
    {
        var values = query[name];
        if (values.Count > 1) throw new UploadRejectedException(400, $"the query parameter {name} is given {values.Count} times");
        var value = values.Count == 1 ? values[0] : null;
        return string.IsNullOrEmpty(value) ? null : value;
    }

    private static IResult NotForApp(string app) => Error(401, $"this ingest key is not valid for app '{app}'");

    public static IResult Unauthorized() =>
        Error(401, "missing or unknown ingest key: send Authorization: Bearer <key> (FOOM_INGEST_KEY, or a key from the Keys page)");

    /// <summary>
    /// An ingest error as problem details (RFC 9457), like the read API's; "error" repeats the
    /// detail for uploaders written against the first ingest API, which read only that field.
    /// </summary>
    public static IResult Error(int status, string message) =>
        TypedResults.Problem(detail: message, statusCode: status, title: ReasonPhrases.GetReasonPhrase(status),
            extensions: new Dictionary<string, object?> { ["error"] = message });
}
