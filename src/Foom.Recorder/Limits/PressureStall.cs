using System.Globalization;

namespace Foom.Recorder.Limits;

/// <summary>
/// Pressure stall information (PSI) for memory: the share of time some (or all) runnable tasks
/// waited for memory, averaged over 10, 60 and 300 seconds, and the total stall in microseconds.
/// From /proc/pressure/memory (the whole machine) or a cgroup v2 group's memory.pressure.
/// </summary>
public sealed record PressureStall(PressureLine Some, PressureLine? Full)
{
    public const string SystemPath = "/proc/pressure/memory";

    /// <summary>The machine's memory pressure; null where the kernel has no PSI (before 4.20, or psi=0).</summary>
    public static PressureStall? ReadSystem() => ReadFile(SystemPath);

    public static PressureStall? ReadFile(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Parses "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=... total=...".</summary>
    public static PressureStall? Parse(string text)
    {
        PressureLine? some = null, full = null;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0) continue;
            double avg10 = 0, avg60 = 0, avg300 = 0;
            long total = 0;
            foreach (var field in fields.Skip(1))
            {
                var equals = field.IndexOf('=');
                if (equals < 0) return null;
                var value = field[(equals + 1)..];
                switch (field[..equals])
                {
                    case "avg10": if (!TryDouble(value, out avg10)) return null; break;
                    case "avg60": if (!TryDouble(value, out avg60)) return null; break;
                    case "avg300": if (!TryDouble(value, out avg300)) return null; break;
                    case "total": if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out total)) return null; break;
                }
            }
            var parsed = new PressureLine(avg10, avg60, avg300, total);
            if (fields[0] == "some") some = parsed;
            else if (fields[0] == "full") full = parsed;
        }
        return some is null ? null : new PressureStall(some, full);
    }

    private static bool TryDouble(string text, out double value) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value);
}

/// <param name="Avg10">Percent of the last 10 s stalled.</param>
/// <param name="TotalMicroseconds">Stall time since boot (or since the group was made).</param>
public sealed record PressureLine(double Avg10, double Avg60, double Avg300, long TotalMicroseconds);
