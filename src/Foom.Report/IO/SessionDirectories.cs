using System.Text.Json;
using Foom.Storage.Sessions;

namespace Foom.Report.IO;

/// <summary>A session directory with what its session.json says.</summary>
public sealed record SessionEntry(string AppId, string Directory, SessionInfo Info);

/// <summary>Finding sessions in the data directory and reading their session.json.</summary>
public static class SessionDirectories
{
    public const string InfoFileName = "session.json";

    /// <summary>The report `foom run` makes of a session that ended in a foreground OOM or a watchdog kill (at the death, or at the next launch).</summary>
    public const string ReportFileName = "report.json";

    /// <summary>Why that report could not be made, so that later launches do not try again and again.</summary>
    public const string ReportProblemFileName = "report.problem";

    /// <summary>Live snapshots taken at memory warnings are named snapshot-&lt;report_time&gt;.json.</summary>
    public const string SnapshotPrefix = "snapshot-";

    /// <summary>Where a live snapshot made at <paramref name="reportTime"/> (ms) is kept in its session directory.</summary>
    public static string SnapshotPath(string sessionDirectory, long reportTime) =>
        Path.Combine(sessionDirectory, SnapshotPrefix + reportTime.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".json");

    /// <summary>Reads a session's session.json; anything wrong is an error naming the file.</summary>
    public static SessionInfo ReadInfo(string sessionDirectory)
    {
        var path = Path.Combine(sessionDirectory, InfoFileName);
        if (!File.Exists(path))
            throw new ReportFormatException(path, "", Directory.Exists(sessionDirectory)
                ? "is missing: this is not a session directory"
                : "no such session directory");
        try
        {
            var info = JsonSerializer.Deserialize(File.ReadAllBytes(path), SessionInfoJson.Default.SessionInfo)
                ?? throw new ReportFormatException(path, "", "is null");
            if (info.FormatVersion != SessionInfo.CurrentFormatVersion)
                throw new ReportFormatException(path, "format_version", $"is {info.FormatVersion}; this Foom reads version {SessionInfo.CurrentFormatVersion}");
            if (string.IsNullOrEmpty(info.SessionId)) throw new ReportFormatException(path, "session_id", "is missing");
            if (string.IsNullOrEmpty(info.AppId)) throw new ReportFormatException(path, "app_id", "is missing");
            return info;
        }
        catch (JsonException e)
        {
            throw new ReportFormatException(path, e.Path ?? "", $"not valid JSON (truncated or corrupt): {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new ReportFormatException(path, "", $"cannot read it: {e.Message}", e);
        }
    }

    /// <summary>
    /// The sessions of one app (or of every app), newest first by start time. Directories whose
    /// session.json cannot be read are skipped here (they are listed by `foom sessions` with
    /// their error); the newest session is the newest readable one.
    /// </summary>
    public static List<SessionEntry> List(DataDirectory data, string? appId = null)
    {
        var apps = appId is null ? data.Apps().ToList() : [DataDirectory.ValidateAppId(appId)];
        var sessions = new List<SessionEntry>();
        foreach (var app in apps)
        {
            var root = data.SessionsDirectory(app);
            if (!Directory.Exists(root)) continue;
            foreach (var directory in Directory.EnumerateDirectories(root))
            {
                if (Path.GetFileName(directory).StartsWith('.')) continue;
                try
                {
                    sessions.Add(new SessionEntry(app, directory, ReadInfo(directory)));
                }
                catch (ReportFormatException)
                {
                    // Not readable: never the "newest session".
                }
            }
        }
        return sessions
            .OrderByDescending(s => s.Info.StartTime)
            .ThenByDescending(s => s.Info.SessionId, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>The newest session, or an error that says where Foom looked.</summary>
    public static SessionEntry Newest(DataDirectory data, string? appId = null) =>
        List(data, appId).FirstOrDefault()
        ?? throw new ReportFormatException(appId is null ? data.Root : data.SessionsDirectory(appId), "",
            "no sessions here yet: run a program with `foom run -- PROGRAM`, or name a session directory or report file");
}
