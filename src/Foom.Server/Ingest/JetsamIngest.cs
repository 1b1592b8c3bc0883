using Foom.Ios.Jetsam;
using Foom.Server.Data;

namespace Foom.Server.Ingest;

/// <summary>
/// A JetsamEvent log (.ips: a one-line JSON header, then the JSON body), parsed by Foom.Ios: the
/// killed process (the frontmost, else the largest), the limit its kill reason reveals, and the
/// raw log (gzip), stored once per incident.
/// </summary>
public sealed class JetsamIngest(GroupCommitWriter writer)
{
    private const int MaxClip = 256;

    /// <summary>Stores the log in <paramref name="body"/> for <paramref name="app"/> (null: not tied to an app).</summary>
    public async Task<(bool Inserted, JetsamRow Row)> IngestAsync(UploadBody.Body body, string? app, CancellationToken cancellationToken)
    {
        var parsed = JetsamParser.Parse(body.Content.Span);
        if (!parsed.Succeeded) throw new UploadRejectedException(400, $"not a JetsamEvent log: {parsed.Error.Message}");
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
        var inserted = await writer.WriteAsync((connection, transaction) => JetsamStore.Insert(connection, transaction, row), cancellationToken);
        return (inserted, row);
    }

    private static string? Clip(string? text) => StoredText.Clip(text, MaxClip);
}
