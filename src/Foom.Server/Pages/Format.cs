using System.Globalization;
using Foom.Server.Analysis;

namespace Foom.Server.Pages;

/// <summary>How the pages write times, sizes and shares.</summary>
public static class Format
{
    public static string Time(long? milliseconds) =>
        milliseconds is null or <= 0 ? "" : DateTimeOffset.FromUnixTimeMilliseconds(milliseconds.Value).UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string Day(long day) => DateOnly.FromDayNumber((int)day + DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber).ToString("MM-dd", CultureInfo.InvariantCulture);

    public static string Bytes(long? bytes) => bytes is null ? "" : ReportAnalyzer.Bytes(bytes.Value);

    public static string Percent(double share) => (share * 100).ToString(share < 0.1 ? "0.##" : "0.#", CultureInfo.InvariantCulture) + " %";
}
