using System.Globalization;

namespace Foom.Storage.Sessions;

/// <summary>
/// The kernel's text files (/proc, /sys) and the few like them (/etc/machine-id): a process's
/// files vanish with it and some are unreadable to other users, so a read that fails is null,
/// never an exception, and each caller says what a missing fact means.
/// </summary>
public static class KernelFiles
{
    /// <summary>The whole file, or null when it is missing or unreadable.</summary>
    public static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The whole number after <paramref name="label"/> at the start of a line of <paramref name="text"/>
    /// (as "btime" in /proc/stat, "TracerPid:" in /proc/PID/status); null when no line has it.
    /// </summary>
    public static long? NumberAfter(string text, string label)
    {
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(label, StringComparison.Ordinal)
                && long.TryParse(line[label.Length..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                return number;
        return null;
    }
}
