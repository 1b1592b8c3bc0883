using System.Globalization;

namespace Foom.Storage.Sessions;

/// <summary>
/// The fields of /proc/PID/stat that Foom reads: state, parent, flags and start time (in clock
/// ticks since boot: the runtime's diagnostics socket is named by it, and it tells a reused pid
/// from the process that had it before).
/// </summary>
public readonly record struct ProcessStat(char State, int ParentPid, uint Flags, long StartTicks)
{
    public bool IsZombie => State is 'Z' or 'X';

    /// <summary>Null when the process is gone, not ours to read, or its line does not parse.</summary>
    public static ProcessStat? Read(int pid)
    {
        if (pid <= 0) return null;
        try
        {
            return Parse(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>"pid (comm) state ppid ...": the name may hold spaces and parentheses, so fields are counted after the last ')'.</summary>
    public static ProcessStat? Parse(string stat)
    {
        var afterName = stat.LastIndexOf(')');
        if (afterName < 0 || afterName + 2 >= stat.Length) return null;
        var fields = stat[(afterName + 2)..].Split(' ');
        // fields[0] is field 3 (state), [1] field 4 (ppid), [6] field 9 (flags), [19] field 22 (starttime).
        if (fields.Length < 20 || fields[0].Length != 1) return null;
        if (!int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var parent)
            || !uint.TryParse(fields[6], NumberStyles.None, CultureInfo.InvariantCulture, out var flags)
            || !long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var startTicks))
            return null;
        return new ProcessStat(fields[0][0], parent, flags, startTicks);
    }
}
