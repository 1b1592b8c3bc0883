using System.Globalization;
using Foom.Report.IO;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Retention;

/// <summary>What one retention pass removed, what it kept on purpose, and what it could not remove (each naming the path and why).</summary>
public sealed record RetentionResult(IReadOnlyList<string> RemovedSessions, IReadOnlyList<string> RemovedReports, IReadOnlyList<string> KeptBecauseRecording,
    IReadOnlyList<string> Problems);

/// <summary>
/// Keeps the last N reports and session directories of an app (3 by default, as WeChat's monitor keeps
/// "the last three times at most") and removes older ones safely:
/// <list type="bullet">
/// <item>a session still being recorded is never removed, however old;</item>
/// <item>a session directory is first renamed to a hidden ".trash-" name in the same folder (one
/// atomic step: it leaves every listing at once), then deleted; a pass interrupted half-way
/// leaves only trash, which the next pass deletes;</item>
/// <item>symbolic links are removed as links, never followed out of the data directory;</item>
/// <item>a session directory still being made (".&lt;session-id&gt;", renamed into place once its
/// session.json is written, before the program starts) whose recorder died before the rename
/// is removed: nothing ran in it;</item>
/// <item>a directory that cannot be removed (another `foom run` of the app removed it first, a
/// permission) is named in <see cref="RetentionResult.Problems"/> and the pass goes on.</item>
/// </list>
/// Sessions are ordered by their start time (session.json), reports by their modification time
/// (a report is written once).
/// </summary>
public static class ReportRetention
{
    public const int DefaultKeep = 3;
    private const string TrashPrefix = ".trash-";

    public static RetentionResult Apply(DataDirectory data, string appId, int keep = DefaultKeep, Func<string, SessionInfo?, bool>? isBeingRecorded = null)
    {
        if (keep < 1) throw new ArgumentOutOfRangeException(nameof(keep), keep, "--keep must be at least 1");
        isBeingRecorded ??= SessionLiveness.IsBeingRecorded;
        var removedSessions = new List<string>();
        var removedReports = new List<string>();
        var keptRecording = new List<string>();
        var problems = new List<string>();

        var sessionsRoot = data.SessionsDirectory(appId);
        if (Directory.Exists(sessionsRoot))
        {
            EmptyTrash(sessionsRoot);
            foreach (var staging in Directory.EnumerateDirectories(sessionsRoot, ".*"))
            {
                if (Path.GetFileName(staging).StartsWith(TrashPrefix, StringComparison.Ordinal) || isBeingRecorded(staging, TryReadInfo(staging))) continue;
                if (RemoveDirectory(staging, problems)) removedSessions.Add(staging);
            }
            var sessions = Directory.EnumerateDirectories(sessionsRoot)
                .Where(d => !Path.GetFileName(d).StartsWith('.'))
                .Select(d => (Directory: d, Info: TryReadInfo(d)))
                .OrderByDescending(s => s.Info?.StartTime ?? new DateTimeOffset(Directory.GetLastWriteTimeUtc(s.Directory)).ToUnixTimeMilliseconds())
                .ThenByDescending(s => Path.GetFileName(s.Directory), StringComparer.Ordinal)
                .ToList();
            foreach (var (directory, info) in sessions.Skip(keep))
            {
                if (isBeingRecorded(directory, info))
                {
                    keptRecording.Add(directory);
                    continue;
                }
                if (RemoveDirectory(directory, problems)) removedSessions.Add(directory);
            }
        }

        var reportsRoot = ReportWriter.ReportsDirectory(data, appId);
        if (Directory.Exists(reportsRoot))
        {
            var reports = new DirectoryInfo(reportsRoot).EnumerateFiles("*.json")
                .Where(f => !f.Name.StartsWith('.'))
                .OrderByDescending(f => f.LastWriteTimeUtc)
                .ThenByDescending(f => f.Name, StringComparer.Ordinal)
                .ToList();
            foreach (var report in reports.Skip(keep))
            {
                try
                {
                    report.Delete();
                    removedReports.Add(report.FullName);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    problems.Add($"{report.FullName}: could not be removed: {e.Message}");
                }
            }
        }
        return new RetentionResult(removedSessions, removedReports, keptRecording, problems);
    }

    private static SessionInfo? TryReadInfo(string directory)
    {
        try
        {
            return SessionDirectories.ReadInfo(directory);
        }
        catch (ReportFormatException)
        {
            return null;
        }
    }

    /// <summary>Removes a session directory; false (with the reason in <paramref name="problems"/>) when it could not.</summary>
    private static bool RemoveDirectory(string directory, List<string> problems)
    {
        try
        {
            var info = new DirectoryInfo(directory);
            if (info.LinkTarget is not null)
            {
                info.Delete();   // a link: remove the link only
                return true;
            }
            var parent = Path.GetDirectoryName(directory)!;
            var trash = Path.Combine(parent, TrashPrefix + Path.GetFileName(directory) + "-" + Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture)[..8]);
            // Once renamed, the session is out of every listing; the next pass finishes a delete cut short.
            Directory.Move(directory, trash);
            DeleteTree(trash);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{directory}: could not be removed: {e.Message}");
            return false;
        }
    }

    private static void EmptyTrash(string root)
    {
        foreach (var trash in Directory.EnumerateDirectories(root, TrashPrefix + "*"))
        {
            try
            {
                DeleteTree(trash);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another pass is deleting it now, or it is not ours to delete: the next pass tries again.
            }
        }
    }

    /// <summary>Deletes a tree without following links inside it (Directory.Delete removes links as links).</summary>
    private static void DeleteTree(string directory) => Directory.Delete(directory, recursive: true);
}
