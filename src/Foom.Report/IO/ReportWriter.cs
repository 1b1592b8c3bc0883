using System.Text.Json;
using Foom.Storage.Sessions;

namespace Foom.Report.IO;

/// <summary>
/// Saves reports. A report file is written whole or not at all (a temporary file beside it,
/// flushed to disk, then renamed), so that a crash never leaves half a report that looks whole.
/// </summary>
public static class ReportWriter
{
    /// <summary>Where an app's reports are kept: &lt;data&gt;/&lt;app&gt;/reports/.</summary>
    public static string ReportsDirectory(DataDirectory data, string appId) => Path.Combine(data.AppDirectory(appId), "reports");

    /// <summary>Saves the report as &lt;data&gt;/&lt;app&gt;/reports/&lt;report_id&gt;.json and returns the path.</summary>
    public static string Save(Model.Report report, DataDirectory data)
    {
        var appId = report.Head.AppId ?? throw new ArgumentException("the report has no head.app_id", nameof(report));
        var reportId = report.Head.ReportId ?? throw new ArgumentException("the report has no head.report_id", nameof(report));
        var path = Path.Combine(ReportsDirectory(data, appId), FileNameOf(reportId));
        Save(report, path);
        return path;
    }

    /// <summary>Saves the report as compact JSON at <paramref name="path"/>, atomically.</summary>
    public static void Save(Model.Report report, string path) => WriteAtomically(path, ReportJson.ToUtf8(report));

    /// <summary>Writes the indented JSON a person reads (what `foom report --format json` prints).</summary>
    public static void WriteIndented(Model.Report report, Stream output) => JsonSerializer.Serialize(output, report, ReportJson.TypeInfo<Model.Report>(ReportJson.Indented));

    /// <summary>A report id as a file name: ids are session ids, but one from elsewhere must not climb out of the folder.</summary>
    public static string FileNameOf(string reportId)
    {
        if (reportId.Length is 0 or > 200 || reportId is "." or ".."
            || reportId.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
            throw new ArgumentException($"report id '{reportId}' cannot be a file name: use 1 to 200 letters, digits, '.', '_' and '-'.", nameof(reportId));
        return reportId + ".json";
    }

    /// <summary>Temporary file, fsync, rename: the file at <paramref name="path"/> is the old one or the new one, never a part.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                file.Write(bytes);
                file.Flush(flushToDisk: true);
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
