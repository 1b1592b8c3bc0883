using System.Runtime.InteropServices;
using Foom.Storage.Logs;

namespace Foom.Storage.Sessions;

/// <summary>
/// One footprint sample in the session's footprint log (footprint.log.foom): when, and how many
/// bytes the target held by the recorder's measure (docs/limits.md).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct FootprintRecord(long TimeMilliseconds, long Bytes);

/// <summary>
/// The footprint history: a bounded circular log, so a long run keeps its most recent stretch
/// (the part that matters for a death) at a fixed cost, and a kill leaves it on disk.
/// </summary>
public static class FootprintLog
{
    public const string Name = "footprint";

    /// <summary>"FOOTPRNT" in ASCII: the record type the log was created for.</summary>
    public const ulong TypeTag = 0x544E5250544F4F46;

    /// <summary>Samples kept: at one sample every 250 ms, the last 17 minutes.</summary>
    public const int Capacity = 4096;

    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// What the log of the session in <paramref name="sessionDirectory"/> holds for judging its
    /// end: the newest sample and the highest one kept. session.json is only rewritten at
    /// warnings, so after a kill the log is the latest record of the footprint.
    /// </summary>
    public static FootprintLogSummary Summarize(string sessionDirectory)
    {
        var path = Path.Combine(sessionDirectory, SessionTables.LogFileName(Name));
        if (!File.Exists(path)) return new FootprintLogSummary(null, null, null);
        try
        {
            using var log = CircularLog<FootprintRecord>.OpenReadOnly(path, TypeTag);
            var records = log.ReadAll();
            if (records.Length == 0) return new FootprintLogSummary(null, null, null);
            return new FootprintLogSummary(records[^1], records.Max(record => record.Bytes), null);
        }
        catch (Exception problem) when (problem is SessionFormatException or IOException or UnauthorizedAccessException)
        {
            return new FootprintLogSummary(null, null, problem is SessionFormatException format ? format.Message : $"{path}: {problem.Message}");
        }
    }
}
