using System.Globalization;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Limits;

/// <summary>
/// A process's own memory, from /proc: resident and swapped bytes (smaps_rollup, else statm and
/// status), and the OOM killer's view of it (oom_score, oom_score_adj).
/// </summary>
public sealed record ProcessMemoryUsage(long ResidentBytes, long SwapBytes, long? ProportionalBytes, long? AnonymousBytes, string Source)
{
    /// <summary>Resident plus swapped: what the kernel's OOM killer weighs (its badness is rss + swap + page tables).</summary>
    public long FootprintBytes => ResidentBytes + SwapBytes;
}

public static class ProcessMemory
{
    public static readonly long PageSize = Environment.SystemPageSize;

    /// <summary>
    /// Reads smaps_rollup (Rss, Pss, Anonymous, Swap: one file, summed by the kernel), falling back
    /// to statm's resident pages plus status's VmSwap where smaps_rollup is missing (kernels
    /// before 4.14) or unreadable. Null when the process is gone.
    /// </summary>
    public static ProcessMemoryUsage? Read(int pid)
    {
        if (KernelFiles.Read($"/proc/{pid}/smaps_rollup") is { } rollup && ParseSmapsRollup(rollup) is { } fromRollup) return fromRollup;
        if (KernelFiles.Read($"/proc/{pid}/statm") is not { } statm || ParseStatmResidentPages(statm) is not { } residentPages) return null;
        var swap = KernelFiles.Read($"/proc/{pid}/status") is { } status ? ParseStatusKilobytes(status, "VmSwap") * 1024 : null;
        return new ProcessMemoryUsage(residentPages * PageSize, swap ?? 0, null, null, "statm");
    }

    /// <summary>
    /// Resident plus swapped bytes from /proc/PID/status (VmRSS, VmSwap): the kernel's running
    /// counters, the same footprint as <see cref="Read"/> without walking the page tables, which
    /// smaps_rollup does on every read (the recorder samples every 50 ms, and a process of many
    /// GiB would make that walk the recorder's main cost). <paramref name="foreignFileBytes"/> of
    /// its resident file pages (at most RssFile) are not its own: Foom's ring, mapped into it but
    /// charged to the recorder. Null when the process is gone.
    /// </summary>
    public static long? ReadFootprintBytes(int pid, long foreignFileBytes = 0)
    {
        if (KernelFiles.Read($"/proc/{pid}/status") is not { } status || ParseStatusKilobytes(status, "VmRSS") is not { } resident) return null;
        var foreign = Math.Min(foreignFileBytes, (ParseStatusKilobytes(status, "RssFile") ?? 0) * 1024);
        return (resident + (ParseStatusKilobytes(status, "VmSwap") ?? 0)) * 1024 - foreign;
    }

    /// <summary>Parses smaps_rollup: "Rss:  1752 kB" lines, summed over every mapping.</summary>
    public static ProcessMemoryUsage? ParseSmapsRollup(string text)
    {
        long? rss = null, pss = null, anonymous = null, swap = null;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            var key = line[..colon];
            if (key is not ("Rss" or "Pss" or "Anonymous" or "Swap")) continue;
            if (ParseKilobytes(line[(colon + 1)..]) is not { } kilobytes) continue;
            var bytes = kilobytes * 1024;
            switch (key)
            {
                case "Rss": rss = bytes; break;
                case "Pss": pss = bytes; break;
                case "Anonymous": anonymous = bytes; break;
                case "Swap": swap = bytes; break;
            }
        }
        return rss is null ? null : new ProcessMemoryUsage(rss.Value, swap ?? 0, pss, anonymous, "smaps_rollup");
    }

    /// <summary>statm: "size resident shared text lib data dt", in pages; the second is resident.</summary>
    public static long? ParseStatmResidentPages(string text)
    {
        var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages) ? pages : null;
    }

    /// <summary>A "Name:   123 kB" line of /proc/PID/status, in kB.</summary>
    public static long? ParseStatusKilobytes(string status, string name)
    {
        foreach (var line in status.Split('\n'))
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
                return ParseKilobytes(line[(name.Length + 1)..]);
        return null;
    }

    /// <summary>The OOM killer's score for the process (0–1000 and above, higher dies first) and its adjustment (−1000 to 1000).</summary>
    public static OomScore? ReadOomScore(int pid)
    {
        var score = KernelFiles.Read($"/proc/{pid}/oom_score");
        var adjust = KernelFiles.Read($"/proc/{pid}/oom_score_adj");
        if (score is null || adjust is null) return null;
        return int.TryParse(score.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s)
               && int.TryParse(adjust.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var a)
            ? new OomScore(s, a)
            : null;
    }

    private static long? ParseKilobytes(string value)
    {
        var trimmed = value.Trim();
        if (trimmed.EndsWith(" kB", StringComparison.Ordinal)) trimmed = trimmed[..^3].TrimEnd();
        return long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var kilobytes) ? kilobytes : null;
    }
}

/// <summary>/proc/PID/oom_score and oom_score_adj: Linux's counterpart of XNU's memorystatus priority.</summary>
public readonly record struct OomScore(int Score, int Adjust);

/// <summary>The machine's memory from /proc/meminfo.</summary>
public sealed record MachineMemory(long TotalBytes, long? AvailableBytes, long SwapTotalBytes, long SwapFreeBytes)
{
    public static MachineMemory? Read() => KernelFiles.Read("/proc/meminfo") is { } text ? Parse(text) : null;

    public static MachineMemory? Parse(string meminfo)
    {
        var total = ProcessMemory.ParseStatusKilobytes(meminfo, "MemTotal");
        if (total is null) return null;
        return new MachineMemory(total.Value * 1024,
            ProcessMemory.ParseStatusKilobytes(meminfo, "MemAvailable") * 1024,
            (ProcessMemory.ParseStatusKilobytes(meminfo, "SwapTotal") ?? 0) * 1024,
            (ProcessMemory.ParseStatusKilobytes(meminfo, "SwapFree") ?? 0) * 1024);
    }
}
