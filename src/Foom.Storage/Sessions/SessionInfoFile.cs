using System.Text.Json;

namespace Foom.Storage.Sessions;

/// <summary>
/// Reading and writing a session's session.json. Writes are atomic (a temporary file in the same
/// directory, flushed, then renamed over the old one), so a kill at any instant leaves either
/// the old file or the new one, never half of one.
/// </summary>
public static class SessionInfoFile
{
    public const string FileName = "session.json";

    public static string PathIn(string sessionDirectory) => Path.Combine(sessionDirectory, FileName);

    /// <summary>Reads session.json; a file that is missing, unreadable or not a session gives the reason instead.</summary>
    public static SessionInfoRead Read(string sessionDirectory)
    {
        var path = PathIn(sessionDirectory);
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (Text.JsonStrings.FindBad(bytes) is { } bad) return SessionInfoRead.Failed(path, $"{bad.Field} {bad.Problem}");
            var info = JsonSerializer.Deserialize(bytes, SessionInfoJson.Default.SessionInfo);
            if (info is null) return SessionInfoRead.Failed(path, "holds null, not a session");
            if (info.FormatVersion != SessionInfo.CurrentFormatVersion)
                return SessionInfoRead.Failed(path, $"format_version is {info.FormatVersion}; this Foom reads version {SessionInfo.CurrentFormatVersion}");
            if (string.IsNullOrEmpty(info.SessionId)) return SessionInfoRead.Failed(path, "session_id is missing");
            if (string.IsNullOrEmpty(info.AppId)) return SessionInfoRead.Failed(path, "app_id is missing");
            return SessionInfoRead.Succeeded(path, info);
        }
        catch (JsonException problem)
        {
            var field = string.IsNullOrEmpty(problem.Path) || problem.Path == "$" ? "" : $" at {problem.Path}";
            return SessionInfoRead.Failed(path, $"is not valid session JSON{field} (truncated or corrupt): line {problem.LineNumber + 1}");
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return SessionInfoRead.Failed(path, File.Exists(path) ? $"cannot be read: {problem.Message}" : "is missing");
        }
    }

    /// <summary>
    /// Writes session.json atomically; <paramref name="durable"/> flushes it to disk first, so that
    /// it survives a machine crash too (a killed writer needs no flush: the page cache keeps it).
    /// </summary>
    public static void Write(string sessionDirectory, SessionInfo info, bool durable = true)
    {
        var path = PathIn(sessionDirectory);
        var temporary = Path.Combine(sessionDirectory, $".{FileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                JsonSerializer.Serialize(stream, info, SessionInfoJson.Default.SessionInfo);
                stream.Flush(flushToDisk: durable);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}

/// <summary>A session.json that was read, or why it could not be.</summary>
public sealed record SessionInfoRead(string Path, SessionInfo? Info, string? Problem)
{
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(Info))]
    public bool Ok => Info is not null;

    internal static SessionInfoRead Succeeded(string path, SessionInfo info) => new(path, info, null);

    internal static SessionInfoRead Failed(string path, string problem) => new(path, null, problem);
}
