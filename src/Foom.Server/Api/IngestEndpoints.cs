using System.Text.Json;
using System.Text.Json.Serialization;
using Foom.Server.Auth;
using Foom.Server.Data;
using Foom.Server.Ingest;
using Foom.Storage.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Foom.Server.Api;

/// <summary>
/// The upload side, all behind `Authorization: Bearer &lt;ingest key&gt;`: 401 without a valid
/// key, 400 naming what is malformed, 413 for too large or a decompression bomb, 415 for a body
/// that is not JSON, 429 over the rate, and 202 only after the upload is durable (200 when the
/// same id was stored before).
/// </summary>
public static class IngestEndpoints
{
    public const string RatePolicy = "ingest";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/reports", PostReport).RequireRateLimiting(RatePolicy);
        app.MapPost("/api/v1/matrix/memstat", PostMatrix).RequireRateLimiting(RatePolicy);
        app.MapPost("/api/v1/launches", PostLaunches).RequireRateLimiting(RatePolicy);
        app.MapPost("/api/v1/jetsam", PostJetsam).RequireRateLimiting(RatePolicy);
        app.MapPost("/api/v1/symbols", PostSymbols).RequireRateLimiting(RatePolicy);
        app.MapGet("/api/v1/policy", GetPolicy).RequireRateLimiting(RatePolicy);
    }

    private static async Task<IResult> PostReport(HttpContext context, IngestKeys keys, FoomServerOptions options, ReportIngest ingest)
    {
        var grant = keys.Check(context.Request.Headers.Authorization);
        if (grant is null) return Unauthorized();
        RequireJson(context.Request);
        ReportIngest.Prepared prepared;
        // The upload and the parsed report are let go before the wait for the commit (ReportIngest says why).
        using (var body = await UploadBody.ReadAsync(context.Request, options.ReportLimits, context.RequestAborted))
        {
            var parsed = ReportParser.ParseFoom(body.Content.Span);
            if (!grant.Allows(parsed.AppId)) return Error(401, $"this ingest key is not valid for app '{parsed.AppId}'");
            prepared = await ingest.PrepareAsync(parsed, body, context.RequestAborted);
        }
        return Stored(await ingest.WriteAsync(prepared, context.RequestAborted));
    }

    private static async Task<IResult> PostMatrix(HttpContext context, IngestKeys keys, FoomServerOptions options, ReportIngest ingest)
    {
        var grant = keys.Check(context.Request.Headers.Authorization);
        if (grant is null) return Unauthorized();
        RequireJson(context.Request);
        var query = context.Request.Query;
        var app = Single(query, "app");
        if (app is not null && !grant.Allows(app)) return Error(401, $"this ingest key is not valid for app '{app}'");
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

    /// <summary>A launch record: one per start, with how the previous run of the app ended.</summary>
    public sealed class LaunchRecord
    {
        [JsonPropertyName("launch_id")] public string? LaunchId { get; set; }
        [JsonPropertyName("app_id")] public string? AppId { get; set; }
        [JsonPropertyName("app_version")] public string? AppVersion { get; set; }
        [JsonPropertyName("device_id")] public string? DeviceId { get; set; }
        [JsonPropertyName("user_id")] public string? UserId { get; set; }
        [JsonPropertyName("phone")] public string? Phone { get; set; }
        [JsonPropertyName("os_ver")] public string? OsVersion { get; set; }
        /// <summary>Milliseconds since the Unix epoch.</summary>
        [JsonPropertyName("launch_time")] public long? LaunchTime { get; set; }
        [JsonPropertyName("prev_exit_reason")] public string? PrevExitReason { get; set; }
        [JsonPropertyName("prev_exit_how")] public string? PrevExitHow { get; set; }
        [JsonPropertyName("prev_app_version")] public string? PrevAppVersion { get; set; }
    }

    private static async Task<IResult> PostLaunches(HttpContext context, IngestKeys keys, FoomServerOptions options, GroupCommitWriter writer)
    {
        var grant = keys.Check(context.Request.Headers.Authorization);
        if (grant is null) return Unauthorized();
        RequireJson(context.Request);
        using var body = await UploadBody.ReadAsync(context.Request, options.SmallLimits, context.RequestAborted);
        List<LaunchRecord?> records;
        var isArray = body.Content.Span.TrimStart(" \t\r\n"u8) is [(byte)'[', ..];
        try
        {
            records = isArray
                ? JsonSerializer.Deserialize<List<LaunchRecord?>>(body.Content.Span, ReportParser.JsonOptions) ?? []
                : [JsonSerializer.Deserialize<LaunchRecord?>(body.Content.Span, ReportParser.JsonOptions)];
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return Error(400, $"not a valid launch record: {e.Message}");
        }
        if (records.Count is 0 or > 1000) return Error(400, "send one launch record, or an array of 1 to 1000");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var rows = new List<LaunchRow>(records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            var field = isArray ? $"[{i}]." : "";
            var record = records[i] ?? throw new UploadRejectedException(400, $"{field}the launch record is null");
            if (string.IsNullOrEmpty(record.AppId)) return Error(400, $"{field}app_id is missing");
            var app = ReportParser.CheckAppId(record.AppId, field + "app_id");
            if (!grant.Allows(app)) return Error(401, $"this ingest key is not valid for app '{app}'");
            if (!ExitReasonNames.TryParse(record.PrevExitReason, out _))
                return Error(400, $"{field}prev_exit_reason '{record.PrevExitReason}' is not one of: {string.Join(", ", ExitReasonNames.All)}");
            if (record.PrevExitHow is not null and not "observed" and not "inferred")
                return Error(400, $"{field}prev_exit_how must be observed or inferred");
            var launchTime = ReportParser.ToMilliseconds(record.LaunchTime) ?? now;
            if (launchTime < 0) return Error(400, $"{field}launch_time is negative");
            var launchId = record.LaunchId is null
                ? ReportParser.ContentId(JsonSerializer.SerializeToUtf8Bytes(record))
                : ReportParser.CheckId(record.LaunchId, field + "launch_id");
            rows.Add(new LaunchRow
            {
                LaunchId = launchId,
                AppId = app,
                AppVersion = string.IsNullOrEmpty(record.AppVersion) ? "unknown" : ReportParser.CheckField(record.AppVersion, field + "app_version"),
                DeviceId = Optional(record.DeviceId, field + "device_id"),
                UserId = Optional(record.UserId, field + "user_id"),
                Phone = Optional(record.Phone, field + "phone"),
                OsVer = Optional(record.OsVersion, field + "os_ver"),
                LaunchTime = launchTime,
                Day = launchTime / 86_400_000,
                PrevExitReason = record.PrevExitReason!,
                PrevExitHow = record.PrevExitHow,
                PrevAppVersion = Optional(record.PrevAppVersion, field + "prev_app_version"),
                ReceivedAt = now,
            });
        }
        var inserted = await writer.WriteAsync((connection, transaction) => LaunchStore.Insert(connection, transaction, rows), context.RequestAborted);
        return Results.Json(new { received = rows.Count, stored = inserted, duplicates = rows.Count - inserted },
            statusCode: inserted > 0 ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
    }

    /// <summary>
    /// A JetsamEvent log (.ips: a one-line JSON header, then the JSON body), parsed by Foom.Ios.
    /// Logs are per device, so the app is optional (?app= to tie it to one).
    /// </summary>
    private static async Task<IResult> PostJetsam(HttpContext context, IngestKeys keys, FoomServerOptions options, GroupCommitWriter writer)
    {
        var grant = keys.Check(context.Request.Headers.Authorization);
        if (grant is null) return Unauthorized();
        var app = Single(context.Request.Query, "app");
        if (app is not null) app = ReportParser.CheckAppId(app, "app");
        else if (grant.AppId is not null) app = grant.AppId;
        if (app is not null && !grant.Allows(app)) return Error(401, $"this ingest key is not valid for app '{app}'");
        var media = (context.Request.ContentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        if (media is not ("" or "application/json" or "text/plain" or "application/octet-stream" or "application/gzip" or "application/x-gzip"))
            return Error(415, "send the .ips file as application/json, text/plain or application/octet-stream");
        using var body = await UploadBody.ReadAsync(context.Request, options.SmallLimits with { MaxBodyBytes = 8 << 20, MaxDecompressedBytes = 32 << 20 }, context.RequestAborted);
        var parsed = Foom.Ios.Jetsam.JetsamParser.Parse(body.Content.Span);
        if (!parsed.Succeeded) return Error(400, $"not a JetsamEvent log: {parsed.Error.Message}");
        var jetsam = parsed.Event;
        var killed = jetsam.Killed.FirstOrDefault(p => p.States.Contains("frontmost")) ?? jetsam.Killed.MaxBy(p => p.FootprintBytes ?? 0);
        var limit = jetsam.Killed.Where(p => p.LimitBytes is not null).OrderByDescending(p => p.States.Contains("frontmost")).ThenByDescending(p => p.LimitBytes).FirstOrDefault();
        var row = new JetsamRow
        {
            EventKey = jetsam.Incident is { Length: > 0 and <= 128 } incident ? "incident:" + incident : ReportParser.ContentId(body.Content.Span),
            AppId = app,
            DeviceModel = Clip(jetsam.Product),
            OsVersion = Clip(jetsam.OsVersion),
            EventTime = jetsam.Time?.ToUnixTimeMilliseconds(),
            PageSize = jetsam.PageSize,
            LargestProcess = Clip(jetsam.LargestProcess),
            KilledProcess = Clip(killed?.Name),
            KillReason = Clip(killed?.Reason),
            KilledFootprintBytes = killed?.FootprintBytes,
            LimitBytes = limit?.LimitBytes,
            Processes = jetsam.Processes.Count,
            ReceivedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            RawGzip = body.ToStoredGzip(),
        };
        var inserted = await writer.WriteAsync((connection, transaction) => JetsamStore.Insert(connection, transaction, row), context.RequestAborted);
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

    /// <summary>
    /// A symbol file (an ELF binary or debug file, a Mach-O image or a dSYM's DWARF companion) as
    /// the raw body, gzip allowed; ?name= names it in messages. It is filed by its build-id or
    /// LC_UUID, durably, before the answer; reports of apps whose main binary it is are then
    /// analysed again in the background, so their issues get names.
    /// </summary>
    private static async Task<IResult> PostSymbols(HttpContext context, IngestKeys keys, FoomServerOptions options, Foom.Symbols.SymbolStore store,
        Database database, Foom.Server.Analysis.Reanalysis reanalysis, Microsoft.Extensions.Logging.ILogger<Foom.Server.Analysis.Reanalysis> logger)
    {
        var grant = keys.Check(context.Request.Headers.Authorization);
        if (grant is null) return Unauthorized();
        var name = Path.GetFileName(Single(context.Request.Query, "name") ?? "upload");
        if (name.Length is 0 or > 200 || name.Any(char.IsControl)) return Error(400, "the query parameter name must be a file name of 1 to 200 characters");
        var limits = options.SymbolLimits;
        var declared = context.Request.ContentLength;
        if (declared > limits.MaxBodyBytes) return Error(413, $"the body is {declared} bytes; at most {limits.MaxBodyBytes} are accepted");
        var encoding = context.Request.Headers.ContentEncoding.ToString().Trim();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (encoding.Length > 0 && !gzip) return Error(415, "Content-Encoding must be gzip or absent");
        var cap = gzip ? Math.Min(limits.MaxDecompressedBytes, declared is long d ? Math.Max(1L << 20, d * limits.MaxRatio) : limits.MaxDecompressedBytes) : limits.MaxBodyBytes;
        var incoming = Path.Combine(options.ServerDirectory, "incoming");
        Directory.CreateDirectory(incoming);
        var temporary = Path.Combine(incoming, Guid.NewGuid().ToString("N"));
        try
        {
            await using (var file = File.Create(temporary))
            {
                Stream source = gzip ? new System.IO.Compression.GZipStream(context.Request.Body, System.IO.Compression.CompressionMode.Decompress) : context.Request.Body;
                await using (source)
                {
                    var buffer = new byte[81920];
                    long total = 0;
                    int read;
                    try
                    {
                        while ((read = await source.ReadAsync(buffer, context.RequestAborted)) > 0)
                        {
                            total += read;
                            if (total > cap) return Error(413, gzip ? $"the decompressed file is larger than {cap} bytes (a decompression bomb, or over the limit)" : $"the file is larger than {cap} bytes");
                            await file.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                        }
                    }
                    catch (InvalidDataException e)
                    {
                        return Error(400, $"the gzip data is corrupt: {e.Message}");
                    }
                }
            }
            Foom.Symbols.StoredSymbolFile stored;
            try
            {
                stored = await Task.Run(() => store.Add(temporary, cap));
            }
            catch (Foom.Symbols.SymbolFileException e)
            {
                return Error(400, $"{name}: {e.Problem}");
            }
            var ids = stored.Ids.Select(i => i.Id).ToList();
            _ = Task.Run(async () =>
            {
                try
                {
                    List<string> apps;
                    using (var connection = database.Open())
                        apps = Dapper.SqlMapper.Query<(string App, string Uuid)>(connection, "SELECT DISTINCT app_id, app_uuid FROM reports WHERE app_uuid IS NOT NULL")
                            .Where(r => Foom.Symbols.BuildIds.Normalize(r.Uuid) is { } id && ids.Contains(id)).Select(r => r.App).Distinct().ToList();
                    foreach (var app in apps) await reanalysis.RunAsync(app, CancellationToken.None);
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "re-analysis after the symbols upload {Name} failed", name);
                }
            });
            var anyNew = stored.Ids.Any(i => i.Stored);
            return Results.Json(new
            {
                name,
                format = stored.Format,
                ids = stored.Ids.Select(i => new { id = i.Id, architecture = i.Architecture, stored = i.Stored }),
            }, statusCode: anyNew ? StatusCodes.Status202Accepted : StatusCodes.Status200OK);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static string? Clip(string? text) => text is { Length: > MaxClip } ? text[..MaxClip] : text;

    private const int MaxClip = 256;

    private static IResult GetPolicy(HttpContext context, IngestKeys keys, FoomServerOptions options, Database database)
    {
        var grant = keys.Check(context.Request.Headers.Authorization);
        if (grant is null && !Bearer.Matches(context.Request.Headers.Authorization, options.AdminToken)) return Unauthorized();
        var query = context.Request.Query;
        var app = Single(query, "app");
        if (string.IsNullOrEmpty(app)) return Error(400, "the query parameter app is missing (GET /api/v1/policy?app=ID&device=&user=&version=)");
        app = ReportParser.CheckAppId(app, "app");
        if (grant is not null && !grant.Allows(app)) return Error(401, $"this ingest key is not valid for app '{app}'");
        var device = Optional(Single(query, "device"), "device");
        var user = Optional(Single(query, "user"), "user");
        var version = Optional(Single(query, "version"), "version");
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

    private static string? Optional(string? value, string field) => value is null ? null : ReportParser.CheckField(value, field);

    public static IResult Unauthorized() =>
        Error(401, "missing or unknown ingest key: send Authorization: Bearer <key> (FOOM_INGEST_KEY, or a key from the Keys page)");

    public static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
