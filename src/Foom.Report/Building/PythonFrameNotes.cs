using System.Globalization;
using Foom.Report.Model;

namespace Foom.Report.Building;

/// <summary>
/// Reads the hook's python-frames-PID.txt files of a session (native/foomhook/python.c): one line
/// per thing it says, "STATE&lt;tab&gt;what". A line without a tab is kept whole, state "unknown",
/// rather than dropped.
/// </summary>
internal static class PythonFrameNotes
{
    public const string Recorded = "recorded";

    public static List<ReportPythonFrames>? Read(string sessionDirectory)
    {
        if (!Directory.Exists(sessionDirectory)) return null;
        var notes = new List<ReportPythonFrames>();
        foreach (var path in Directory.EnumerateFiles(sessionDirectory, "python-frames-*.txt").Order(StringComparer.Ordinal))
        {
            var stem = Path.GetFileNameWithoutExtension(path)["python-frames-".Length..];
            if (!int.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            string[] lines;
            try
            {
                lines = File.ReadAllLines(path);
            }
            catch (IOException e)
            {
                notes.Add(new ReportPythonFrames { Pid = pid, State = "unknown", Detail = $"{path} could not be read: {e.Message}" });
                continue;
            }
            foreach (var line in lines.Where(l => l.Length > 0))
            {
                var tab = line.IndexOf('\t');
                notes.Add(tab > 0
                    ? new ReportPythonFrames { Pid = pid, State = line[..tab], Detail = line[(tab + 1)..] }
                    : new ReportPythonFrames { Pid = pid, State = "unknown", Detail = line });
            }
        }
        return notes.Count > 0 ? notes : null;
    }
}
