using System.Globalization;

namespace Foom.Cli.Output;

/// <summary>Byte counts for people: 48 B, 1.5 KiB, 240.0 MiB, 2.00 GiB.</summary>
internal static class ByteText
{
    public static string Format(long bytes) => bytes switch
    {
        < 0 => "-" + Format(-bytes),
        < 1L << 10 => $"{bytes} B",
        < 1L << 20 => (bytes / 1024.0).ToString("0.0 'KiB'", CultureInfo.InvariantCulture),
        < 1L << 30 => (bytes / (1024.0 * 1024)).ToString("0.0 'MiB'", CultureInfo.InvariantCulture),
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("0.00 'GiB'", CultureInfo.InvariantCulture),
    };

    public static string Format(long? bytes, string unknown = "-") => bytes is { } known ? Format(known) : unknown;
}
