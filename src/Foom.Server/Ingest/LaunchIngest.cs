using System.Text.Json;
using Foom.Server.Auth;
using Foom.Server.Data;
using Foom.Storage.Sessions;
using Foom.Storage.Text;

namespace Foom.Server.Ingest;

/// <summary>
/// Launch records: one record or an array of 1 to 1000, each checked (400 naming the record and
/// field, 401 for an app the key is not for) before any is stored, then stored in one group commit.
/// </summary>
public sealed class LaunchIngest(GroupCommitWriter writer)
{
    public const int MaxRecords = 1000;

    /// <summary>Stores the records of <paramref name="json"/>; returns how many there were and how many were new.</summary>
    public async Task<(int Received, int Stored)> IngestAsync(ReadOnlyMemory<byte> json, IngestGrant grant, CancellationToken cancellationToken)
    {
        var rows = Parse(json.Span, grant);
        var inserted = await writer.WriteAsync((connection, transaction) => LaunchStore.Insert(connection, transaction, rows), cancellationToken);
        return (rows.Count, inserted);
    }

    private static List<LaunchRow> Parse(ReadOnlySpan<byte> json, IngestGrant grant)
    {
        if (JsonStrings.FindBad(json) is { } bad) throw Bad(bad.ToString());
        List<LaunchRecord?> records;
        var isArray = json.TrimStart(" \t\r\n"u8) is [(byte)'[', ..];
        try
        {
            records = isArray
                ? JsonSerializer.Deserialize<List<LaunchRecord?>>(json, ReportParser.JsonOptions) ?? []
                : [JsonSerializer.Deserialize<LaunchRecord?>(json, ReportParser.JsonOptions)];
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw Bad($"not a valid launch record: {e.Message}");
        }
        if (records.Count is 0 or > MaxRecords) throw Bad($"send one launch record, or an array of 1 to {MaxRecords}");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var rows = new List<LaunchRow>(records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            var field = isArray ? $"[{i}]." : "";
            var record = records[i] ?? throw Bad($"{field}the launch record is null");
            if (string.IsNullOrEmpty(record.AppId)) throw Bad($"{field}app_id is missing");
            var app = ReportParser.CheckAppId(record.AppId, field + "app_id");
            if (!grant.Allows(app)) throw new UploadRejectedException(401, $"this ingest key is not valid for app '{app}'");
            if (!ExitReasonNames.TryParse(record.PrevExitReason, out _))
                throw Bad($"{field}prev_exit_reason '{record.PrevExitReason}' is not one of: {string.Join(", ", ExitReasonNames.All)}");
            if (record.PrevExitHow is not null and not "observed" and not "inferred")
                throw Bad($"{field}prev_exit_how must be observed or inferred");
            var launchTime = ReportParser.ToMilliseconds(record.LaunchTime) ?? now;
            if (launchTime < 0) throw Bad($"{field}launch_time is negative");
            var launchId = record.LaunchId is null
                ? ReportParser.ContentId(JsonSerializer.SerializeToUtf8Bytes(record))
                : ReportParser.CheckId(record.LaunchId, field + "launch_id");
            rows.Add(new LaunchRow
            {
                LaunchId = launchId,
                AppId = app,
                AppVersion = string.IsNullOrEmpty(record.AppVersion) ? "unknown" : ReportParser.CheckField(record.AppVersion, field + "app_version"),
                DeviceId = ReportParser.CheckOptional(record.DeviceId, field + "device_id"),
                UserId = ReportParser.CheckOptional(record.UserId, field + "user_id"),
                Phone = ReportParser.CheckOptional(record.Phone, field + "phone"),
                OsVer = ReportParser.CheckOptional(record.OsVersion, field + "os_ver"),
                LaunchTime = launchTime,
                Day = launchTime / 86_400_000,
                PrevExitReason = record.PrevExitReason!,
                PrevExitHow = record.PrevExitHow,
                PrevAppVersion = ReportParser.CheckOptional(record.PrevAppVersion, field + "prev_app_version"),
                ReceivedAt = now,
            });
        }
        return rows;
    }

    private static UploadRejectedException Bad(string message) => new(400, message);
}
