using Foom.Storage.Sessions;

namespace Foom.Report.IO;

/// <summary>
/// What `foom report`, `foom diff` and `foom upload` accept as their input: a report file
/// (Foom's or Matrix's, .json or .json.gz), a session directory (a report is built from it), or
/// nothing (the newest session in the data directory).
/// </summary>
public static class ReportInputs
{
    /// <summary>Builds a report from a session directory; the ReportBuilder once the storage engine is there.</summary>
    public delegate Model.Report SessionReporter(string sessionDirectory);

    public static Model.Report Load(string? input, DataDirectory data, string? appId, SessionReporter fromSession)
    {
        if (string.IsNullOrEmpty(input)) return fromSession(SessionDirectories.Newest(data, appId).Directory);
        if (Directory.Exists(input)) return fromSession(input);
        if (File.Exists(input)) return ReportReader.Read(input);
        throw new ReportFormatException(input, "", "no such report file or session directory");
    }
}
