using System.Collections.Concurrent;
using Dapper;
using Foom.Ios.Jetsam;
using Foom.Server.Ingest;

namespace Foom.Server.Data;

/// <summary>One process a JetsamEvent log says was killed, dated by the log.</summary>
public sealed record JetsamKill(string EventKey, string? DeviceModel, string? OsVersion, long? EventTime, long ReceivedAt,
    string Process, IReadOnlyList<string> States, string? Reason, long? FootprintBytes, long? LimitBytes)
{
    /// <summary>
    /// The app's memory limit on its device model is what a frontmost (foreground) app is held
    /// to; a daemon or a background app has limits of its own, often far lower.
    /// </summary>
    public bool Frontmost => States.Contains("frontmost");

    public bool RevealsAppLimit => Frontmost && LimitBytes is > 0 && JetsamReasons.RevealsLimit(Reason);
}

/// <summary>
/// The killed processes of every stored JetsamEvent log, read from the raw logs: the row the
/// ingest keeps names one process and a limit that may be another's. A log never changes once
/// stored, so each is parsed once per server and kept (a few records per log).
/// </summary>
public sealed class JetsamKills
{
    // Null for a stored log that no longer parses (a parser change): counted, never hidden.
    private readonly ConcurrentDictionary<long, IReadOnlyList<JetsamKill>?> _byRow = new();

    private sealed record EventRow(long Id, string EventKey, string? DeviceModel, string? OsVersion, long? EventTime, long ReceivedAt);

    /// <summary>Every kill, and how many stored logs could not be read again.</summary>
    public (List<JetsamKill> Kills, int UnreadableLogs) All(Database database)
    {
        using var connection = database.Open();
        var rows = connection.Query<EventRow>(
            "SELECT id AS Id, event_key AS EventKey, device_model AS DeviceModel, os_version AS OsVersion, event_time AS EventTime, received_at AS ReceivedAt FROM jetsam_events ORDER BY id").ToList();
        var kills = new List<JetsamKill>();
        var unreadable = 0;
        foreach (var row in rows)
        {
            var of = _byRow.GetOrAdd(row.Id, _ => Parse(row, connection.QuerySingle<byte[]>("SELECT raw_gzip FROM jetsam_events WHERE id = @Id", new { row.Id })));
            if (of is null) unreadable++;
            else kills.AddRange(of);
        }
        return (kills, unreadable);
    }

    private static IReadOnlyList<JetsamKill>? Parse(EventRow row, byte[] rawGzip)
    {
        var parsed = JetsamParser.Parse(UploadBody.Gunzip(rawGzip));
        if (!parsed.Succeeded) return null;
        return parsed.Event.Killed.Select(p => new JetsamKill(row.EventKey, row.DeviceModel, row.OsVersion, row.EventTime, row.ReceivedAt,
            p.Name, p.States, p.Reason, p.FootprintBytes, p.LimitBytes)).ToList();
    }
}
