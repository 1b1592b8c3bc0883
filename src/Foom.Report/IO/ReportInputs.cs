using Foom.Storage.Sessions;

namespace Foom.Report.IO;

/// <summary>
/// What `foom report`, `foom diff` and `foom upload` accept as their input: a report file
/// (Foom's or Matrix's, .json or .json.gz), a session directory (its saved report, or one built
/// from it), or nothing (the newest session in the data directory).
/// </summary>
public static class ReportInputs
{
    /// <summary>Builds a report from a session directory; the ReportBuilder once the storage engine is there.</summary>
    public delegate Model.Report SessionReporter(string sessionDirectory);

    /// <summary>Called when a session's saved report is used instead of building one: its path and the report.</summary>
    public delegate void SavedReportUsed(string path, Model.Report report);

    /// <summary>
    /// The report of <paramref name="input"/>. For a session (or the newest, without input), the
    /// report saved in it (report.json, made when the run ended or at the next launch, named on
    /// the machine and with the binaries of that moment) when there is one and
    /// <paramref name="savedUsed"/> is given, which is then told; otherwise a report built from
    /// the session now. A saved report that cannot be read is an error naming it.
    /// </summary>
    public static Model.Report Load(string? input, DataDirectory data, string? appId, SessionReporter fromSession, SavedReportUsed? savedUsed = null)
    {
        var session = string.IsNullOrEmpty(input) ? SessionDirectories.Newest(data, appId).Directory
            : Directory.Exists(input) ? input
            : null;
        if (session is not null)
        {
            var saved = Path.Combine(session, SessionDirectories.ReportFileName);
            if (savedUsed is null || !File.Exists(saved)) return fromSession(session);
            Model.Report report;
            try
            {
                report = ReportReader.Read(saved);
            }
            catch (ReportFormatException damaged)
            {
                throw new ReportFormatException(damaged.File, damaged.Field,
                    $"{damaged.Problem} (the report saved in the session; `foom report --rebuild` builds one afresh from the session)", damaged);
            }
            savedUsed(saved, report);
            return report;
        }
        if (File.Exists(input)) return ReportReader.Read(input);
        throw new ReportFormatException(input!, "", "no such report file or session directory");
    }
}
