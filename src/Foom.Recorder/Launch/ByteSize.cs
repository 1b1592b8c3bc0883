using System.Globalization;

namespace Foom.Recorder.Launch;

/// <summary>
/// Sizes on the command line: a number of bytes with an optional unit, binary either way
/// (K, KB, KiB = 1024; M = 1024²; G = 1024³; T = 1024⁴), as `ulimit`, cgroups and Docker read them.
/// </summary>
public static class ByteSize
{
    public static bool TryParse(string text, out long bytes, out string? problem)
    {
        bytes = 0;
        problem = null;
        var trimmed = text.Trim();
        var split = 0;
        while (split < trimmed.Length && (char.IsAsciiDigit(trimmed[split]) || trimmed[split] == '.')) split++;
        var number = trimmed[..split];
        var unit = trimmed[split..].Trim().ToUpperInvariant();
        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            problem = $"'{text}' is not a size: expected a number with an optional unit such as 512M or 2G";
            return false;
        }
        long multiplier = unit switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => 0,
        };
        if (multiplier == 0)
        {
            problem = $"'{text}' has an unknown unit '{trimmed[split..]}': use B, K, M, G or T";
            return false;
        }
        var total = value * multiplier;
        if (total < 1 || total > long.MaxValue)
        {
            problem = $"'{text}' is out of range: a size must be at least 1 byte";
            return false;
        }
        bytes = (long)total;
        return true;
    }

    /// <summary>A short human form: 512.0 MiB, 1.50 GiB, 48 B.</summary>
    public static string Format(long bytes) => bytes switch
    {
        < 1L << 10 => $"{bytes} B",
        < 1L << 20 => (bytes / 1024.0).ToString("0.0 'KiB'", CultureInfo.InvariantCulture),
        < 1L << 30 => (bytes / (1024.0 * 1024)).ToString("0.0 'MiB'", CultureInfo.InvariantCulture),
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("0.00 'GiB'", CultureInfo.InvariantCulture),
    };
}
