using System.Globalization;
using Foom.Server.Analysis;

namespace Foom.Server.Pages;

/// <summary>How the pages write times, sizes, shares, counts and versions.</summary>
public static class Format
{
    public static string Time(long? milliseconds) =>
        milliseconds is null or <= 0 ? "" : DateTimeOffset.FromUnixTimeMilliseconds(milliseconds.Value).UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string Day(long day) => DateOnly.FromDayNumber((int)day + DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Today as a day number (days since 1970-01-01, UTC), as the stores keep days.</summary>
    public static long Today() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 86_400_000;

    public static string Bytes(long? bytes) => bytes is null ? "" : ReportAnalyzer.Bytes(bytes.Value);

    public static string Percent(double share) => (share * 100).ToString(share < 0.1 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + " %";

    /// <summary>"1 report", "2 reports", with the count grouped ("12,000 reports").</summary>
    public static string Count(long count, string noun, string? plural = null) =>
        count.ToString("N0", CultureInfo.InvariantCulture) + " " + (count == 1 ? noun : plural ?? noun + "s");

    /// <summary>An app version as a label: the server files a report without one under "unknown".</summary>
    public static string Version(string version) => version == "unknown" ? "version unknown" : "v" + version;

    /// <summary>Text from a request, cut for a message.</summary>
    public static string Short(string? text) => text is null ? "" : text.Length <= 80 ? text : text[..80] + "…";
}
