using System.Globalization;
using System.Runtime.InteropServices;

namespace Foom.Recorder.Exits;

/// <summary>
/// The facts about the machine and its processes that the exit rules compare across launches:
/// boot id (a reboot), kernel release (an OS upgrade), a process's name, its tracer (a
/// debugger) and its start time (to tell a live process from a stranger that reused its pid).
/// </summary>
public static partial class MachineFacts
{
    private const int ClockTicksName = 2; // _SC_CLK_TCK

    /// <summary>
    /// The device id of reports and launch records: the first 16 bytes of SHA-256 over
    /// /etc/machine-id, in hex, so the server can count devices and whitelist one without
    /// learning the machine's own id. Null where the file is missing.
    /// </summary>
    public static string? DeviceId() =>
        (Read("/etc/machine-id") ?? Read("/var/lib/dbus/machine-id"))?.Trim() is { Length: > 0 } machineId
            ? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("foom-device:" + machineId)).AsSpan(0, 16))
            : null;

    /// <summary>/proc/sys/kernel/random/boot_id: new at every boot.</summary>
    public static string? BootId() => Read("/proc/sys/kernel/random/boot_id")?.Trim();

    /// <summary>The kernel release, as uname -r prints it.</summary>
    public static string? KernelRelease() => Read("/proc/sys/kernel/osrelease")?.Trim();

    /// <summary>A process's name (comm, at most 15 characters); null when it is gone.</summary>
    public static string? ProcessName(int pid) => Read($"/proc/{pid}/comm")?.TrimEnd('\n');

    /// <summary>The pid of the process tracing <paramref name="pid"/> (a debugger, strace), or 0; null when it is gone.</summary>
    public static int? TracerPid(int pid)
    {
        if (Read($"/proc/{pid}/status") is not { } status) return null;
        foreach (var line in status.Split('\n'))
            if (line.StartsWith("TracerPid:", StringComparison.Ordinal)
                && int.TryParse(line["TracerPid:".Length..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var tracer))
                return tracer;
        return null;
    }

    /// <summary>When a live, non-zombie process started (ms since the epoch, to about a second: the kernel's boot time is in seconds); null when there is none.</summary>
    public static long? ProcessStartTime(int pid)
    {
        if (pid <= 0 || Read($"/proc/{pid}/stat") is not { } stat) return null;
        // Fields after the name (which may hold spaces and parentheses) start after the last ')'.
        var afterName = stat.LastIndexOf(')');
        if (afterName < 0) return null;
        var fields = stat[(afterName + 2)..].Split(' ');
        // fields[0] is field 3 (state); starttime is field 22.
        if (fields.Length < 20 || fields[0] is "Z" or "X") return null;
        if (!long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)) return null;
        if (BootTimeSeconds() is not { } boot) return null;
        var ticksPerSecond = sysconf(ClockTicksName);
        if (ticksPerSecond <= 0) ticksPerSecond = 100;
        return boot * 1000 + ticks * 1000 / ticksPerSecond;
    }

    private static long? BootTimeSeconds()
    {
        if (Read("/proc/stat") is not { } stat) return null;
        foreach (var line in stat.Split('\n'))
            if (line.StartsWith("btime ", StringComparison.Ordinal)
                && long.TryParse(line[6..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                return seconds;
        return null;
    }

    [LibraryImport("libc")]
    private static partial long sysconf(int name);

    private static string? Read(string path)
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
}
