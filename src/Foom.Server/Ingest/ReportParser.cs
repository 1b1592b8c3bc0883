using System.Security.Cryptography;
using System.Text.Json;
using Foom.Report.Model;
using Foom.Storage.Sessions;
using Foom.Storage.Text;
using ReportDocument = Foom.Report.Model.Report;

namespace Foom.Server.Ingest;

/// <summary>A report that passed validation, with the identity the server files it under.</summary>
public sealed record ParsedReport(ReportDocument Report, string ReportId, string AppId, string AppVersion, string Source);

/// <summary>
/// Turns an uploaded body into a <see cref="ReportDocument"/>, or a 400/413 that names the field
/// and what is wrong with it. Foom reports carry their identity in the head; Matrix memstat
/// reports name the app in the query and have no report id, so their id is the hash of the
/// content (the same bytes uploaded twice are stored once).
/// </summary>
public static class ReportParser
{
    public const int MaxJsonDepth = 64;
    public const int MaxItems = 100_000;
    public const int MaxStacks = 200_000;
    public const int MaxFramesPerStack = 512;
    public const int MaxNameLength = 4096;
    public const int MaxFieldLength = 256;

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        MaxDepth = MaxJsonDepth,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
    };

    public static ParsedReport ParseFoom(ReadOnlySpan<byte> json)
    {
        var report = Deserialize(json);
        var head = report.Head;
        if (string.IsNullOrEmpty(head.AppId)) throw Bad("head.app_id is missing");
        var appId = CheckAppId(head.AppId, "head.app_id");
        var reportId = string.IsNullOrEmpty(head.ReportId) ? ContentId(json) : CheckId(head.ReportId, "head.report_id");
        Validate(report);
        return new ParsedReport(report, reportId, appId, Version(head.AppVersion), "foom");
    }

    /// <summary>A Matrix memstat report; the query may name the version, device and user that Matrix keeps in custom keys.</summary>
    public static ParsedReport ParseMatrix(ReadOnlySpan<byte> json, string? appFromQuery, string? versionFromQuery, string? deviceFromQuery, string? userFromQuery)
    {
        if (string.IsNullOrEmpty(appFromQuery)) throw Bad("the query parameter app is missing (POST /api/v1/matrix/memstat?app=ID)");
        var appId = CheckAppId(appFromQuery, "app");
        var report = Deserialize(json);
        var head = report.Head;
        head.Platform ??= "ios";
        head.AppId = appId;
        if (!string.IsNullOrEmpty(versionFromQuery)) head.AppVersion = CheckField(versionFromQuery, "version");
        if (!string.IsNullOrEmpty(deviceFromQuery)) head.DeviceId = CheckField(deviceFromQuery, "device");
        if (!string.IsNullOrEmpty(userFromQuery)) head.UserId = CheckField(userFromQuery, "user");
        head.ExitReason ??= ExitReason.ForegroundOom.Name();
        // Matrix reports carry no totals in the head; they are the sums of the items.
        if (head.LiveBytes == 0) head.LiveBytes = report.Items.Where(i => i is not null && !i.IsManaged).Sum(i => i.Size);
        if (head.LiveCount == 0) head.LiveCount = report.Items.Where(i => i is not null && !i.IsManaged).Sum(i => i.Count);
        head.LaunchTime = ToMilliseconds(head.LaunchTime);
        head.ReportTime = ToMilliseconds(head.ReportTime);
        var reportId = string.IsNullOrEmpty(head.ReportId) ? ContentId(json) : CheckId(head.ReportId, "head.report_id");
        head.ReportId = reportId;
        Validate(report);
        return new ParsedReport(report, reportId, appId, Version(head.AppVersion), "matrix");
    }

    public static ReportDocument Deserialize(ReadOnlySpan<byte> json)
    {
        if (JsonStrings.FindBad(json) is { } bad) throw Bad(bad.ToString());
        ReportDocument? report;
        try
        {
            report = JsonSerializer.Deserialize<ReportDocument>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw Bad($"not a valid report: {e.Message}");
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            throw Bad($"not a valid report: {e.Message}");
        }
        if (report is null) throw Bad("the body is JSON null, not a report object");
        if (report.Head is null) throw Bad("head is null");
        if (report.Items is null) throw Bad("items is null");
        if (report.Modules is null) report.Modules = [];
        return report;
    }

    public static string CheckAppId(string appId, string field)
    {
        try
        {
            return DataDirectory.ValidateAppId(appId);
        }
        catch (ArgumentException)
        {
            throw Bad($"{field} '{Shorten(appId)}' is not a valid app id: use 1 to 128 characters from letters, digits, '.', '_' and '-'");
        }
    }

    /// <summary>Ids (report, launch, key) are short and printable.</summary>
    public static string CheckId(string id, string field)
    {
        if (id.Length is 0 or > 128 || id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':')))
            throw Bad($"{field} '{Shorten(id)}' is not a valid id: use 1 to 128 characters from letters, digits, '.', '_', '-' and ':'");
        return id;
    }

    public static string CheckField(string value, string field)
    {
        if (value.Length > MaxFieldLength) throw Bad($"{field} is longer than {MaxFieldLength} characters");
        if (value.Any(char.IsControl)) throw Bad($"{field} contains control characters");
        return value;
    }

    public static string ContentId(ReadOnlySpan<byte> content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content))[..40];

    /// <summary>Matrix writes seconds; Foom writes milliseconds. Anything before 1973 in ms is taken as seconds.</summary>
    public static long? ToMilliseconds(long? time) => time is > 0 and < 100_000_000_000 ? time * 1000 : time;

    private static string Version(string? version) =>
        string.IsNullOrEmpty(version) ? "unknown" : CheckField(version, "head.app_version");

    private static void Validate(ReportDocument report)
    {
        var head = report.Head;
        CheckOptional(head.Platform, "head.platform");
        CheckOptional(head.DeviceId, "head.device_id");
        CheckOptional(head.UserId, "head.user_id");
        CheckOptional(head.Phone, "head.phone");
        CheckOptional(head.OsVersion, "head.os_ver");
        CheckOptional(head.AppUuid, "head.app_uuid");
        CheckOptional(head.ExitReason, "head.exit_reason");
        if (head.Scene is { Length: > MaxNameLength }) throw Bad($"head.scene is longer than {MaxNameLength} characters");
        if (head.LiveBytes < 0) throw Bad("head.live_bytes is negative");
        if (head.LiveCount < 0) throw Bad("head.live_count is negative");
        if (head.FootprintBytes < 0) throw Bad("head.footprint_bytes is negative");
        if (head.LimitBytes < 0) throw Bad("head.limit_bytes is negative");
        if (report.Items.Count > MaxItems) throw new UploadRejectedException(413, $"items has {report.Items.Count} entries; at most {MaxItems} are accepted");
        for (var m = 0; m < report.Modules.Count; m++)
        {
            var module = report.Modules[m] ?? throw Bad($"modules[{m}] is null");
            if (module.Uuid is null || module.Uuid.Length > MaxFieldLength) throw Bad($"modules[{m}].uuid is missing or too long");
            if (module.Name is { Length: > MaxNameLength } || module.Path is { Length: > MaxNameLength }) throw Bad($"modules[{m}] has a name or path longer than {MaxNameLength} characters");
        }
        var stacks = 0;
        for (var i = 0; i < report.Items.Count; i++)
        {
            var item = report.Items[i] ?? throw Bad($"items[{i}] is null");
            if (string.IsNullOrEmpty(item.Name)) throw Bad($"items[{i}].name is missing");
            if (item.Name.Length > MaxNameLength) throw Bad($"items[{i}].name is longer than {MaxNameLength} characters");
            if (item.Size < 0 || item.Count < 0) throw Bad($"items[{i}] ({Shorten(item.Name)}) has a negative size or count");
            item.Stacks ??= [];
            stacks += item.Stacks.Count;
            if (stacks > MaxStacks) throw new UploadRejectedException(413, $"the report has more than {MaxStacks} stacks");
            for (var s = 0; s < item.Stacks.Count; s++)
            {
                var stack = item.Stacks[s] ?? throw Bad($"items[{i}].stacks[{s}] is null");
                if (stack.Size < 0 || stack.Count < 0) throw Bad($"items[{i}].stacks[{s}] has a negative size or count");
                stack.Frames ??= [];
                stack.Caller ??= "";
                if (stack.Frames.Count > MaxFramesPerStack) throw Bad($"items[{i}].stacks[{s}] has {stack.Frames.Count} frames; at most {MaxFramesPerStack}");
                for (var f = 0; f < stack.Frames.Count; f++)
                {
                    var frame = stack.Frames[f] ?? throw Bad($"items[{i}].stacks[{s}].frames[{f}] is null");
                    frame.Uuid ??= "";
                    if (frame.Uuid.Length > MaxFieldLength) throw Bad($"items[{i}].stacks[{s}].frames[{f}].uuid is too long");
                    if (frame.Function is { Length: > MaxNameLength } || frame.File is { Length: > MaxNameLength })
                        throw Bad($"items[{i}].stacks[{s}].frames[{f}] has a function or file name longer than {MaxNameLength} characters");
                }
            }
        }
    }

    public static string? CheckOptional(string? value, string field) => value is null ? null : CheckField(value, field);

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "...";

    private static UploadRejectedException Bad(string message) => new(400, message);
}
