using System.Globalization;

namespace Foom.Recorder.Limits;

/// <summary>
/// One memory cgroup, v1 or v2, and its counters: the limit (v1 memory.limit_in_bytes, v2
/// memory.max), the usage (usage_in_bytes, memory.current), the peak, the OOM kills
/// (memory.oom_control's oom_kill, memory.events' oom_kill) and, on v2, its PSI. Every read
/// returns null when the file is missing or unreadable (an older kernel, a group already
/// removed), never throws.
/// </summary>
public sealed class MemoryCgroup
{
    /// <summary>
    /// v1 writes "no limit" as PAGE_COUNTER_MAX × page size (9223372036854771712 with 4 KiB pages);
    /// anything this large is no limit at all.
    /// </summary>
    private const long UnlimitedFloor = 1L << 62;

    public MemoryCgroup(CgroupMount mount, string directory)
    {
        Mount = mount;
        Directory = directory.TrimEnd('/');
        if (Directory.Length < mount.MountPoint.Length) Directory = mount.MountPoint;
    }

    public CgroupMount Mount { get; }

    public CgroupVersion Version => Mount.Version;

    /// <summary>The group's directory, e.g. /sys/fs/cgroup/memory/foom-app-123.</summary>
    public string Directory { get; }

    /// <summary>The group's path in its hierarchy, as /proc/PID/cgroup and the kernel's OOM lines write it.</summary>
    public string Path => Mount.PathOf(Directory);

    public string ProcsFile => File("cgroup.procs");

    public string File(string name) => System.IO.Path.Combine(Directory, name);

    /// <summary>The group a process is in, for the memory controller; null when it has none (no memory cgroup on this machine).</summary>
    public static MemoryCgroup? OfProcess(int pid, CgroupMounts? mounts = null)
    {
        string text;
        try
        {
            text = System.IO.File.ReadAllText($"/proc/{pid}/cgroup");
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        return FromProcCgroup(text, mounts ?? CgroupMounts.Current());
    }

    /// <summary>
    /// Picks the memory group out of /proc/PID/cgroup: the v1 line whose controllers include
    /// "memory" ("4:memory:/a/b") when v1 carries the controller, else the v2 line ("0::/a/b")
    /// when v2 offers memory.
    /// </summary>
    public static MemoryCgroup? FromProcCgroup(string procCgroup, CgroupMounts mounts)
    {
        string? v1Path = null, v2Path = null;
        foreach (var line in procCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var first = line.IndexOf(':');
            var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second < 0) continue;
            var controllers = line[(first + 1)..second];
            var path = line[(second + 1)..];
            if (line[..first] == "0" && controllers.Length == 0) v2Path = path;
            else if (controllers.Split(',').Contains("memory")) v1Path = path;
        }
        if (v1Path is not null && mounts.V1Memory?.DirectoryOf(v1Path) is { } v1Directory)
            return new MemoryCgroup(mounts.V1Memory, v1Directory);
        if (v2Path is not null && mounts.V2 is not null && mounts.V2HasMemoryController && mounts.V2.DirectoryOf(v2Path) is { } v2Directory)
            return new MemoryCgroup(mounts.V2, v2Directory);
        return null;
    }

    /// <summary>The group above this one, within the same mount; null at the mount's root.</summary>
    public MemoryCgroup? Parent =>
        Directory.Length <= Mount.MountPoint.Length ? null : new MemoryCgroup(Mount, System.IO.Path.GetDirectoryName(Directory)!);

    /// <summary>The hard limit in bytes; null when there is none.</summary>
    public long? ReadLimit()
    {
        var value = Version == CgroupVersion.V1 ? ReadNumber("memory.limit_in_bytes") : ReadNumberOrMax("memory.max");
        return value is >= UnlimitedFloor ? null : value;
    }

    /// <summary>
    /// The limit that actually applies: the smallest along the path to the mount's root (a group
    /// cannot use more than any of its ancestors allow), with the group that sets it.
    /// </summary>
    public (long Bytes, MemoryCgroup SetBy)? ReadEffectiveLimit()
    {
        (long Bytes, MemoryCgroup SetBy)? smallest = null;
        for (var group = this; group is not null; group = group.Parent)
            if (group.ReadLimit() is { } limit && (smallest is null || limit < smallest.Value.Bytes))
                smallest = (limit, group);
        return smallest;
    }

    /// <summary>Bytes charged to the group now: RAM (anonymous, page cache, kernel) and, where accounted with it, swap.</summary>
    public long? ReadUsage() => Version == CgroupVersion.V1 ? ReadNumber("memory.usage_in_bytes") : ReadNumber("memory.current");

    /// <summary>
    /// The footprint of everything in the group: its usage plus its swap (v1: memory.memsw.usage_in_bytes
    /// where swap accounting is on; v2: memory.current + memory.swap.current).
    /// </summary>
    public long? ReadUsageWithSwap()
    {
        if (Version == CgroupVersion.V1) return ReadNumber("memory.memsw.usage_in_bytes") ?? ReadUsage();
        return ReadUsage() is { } current ? current + (ReadNumber("memory.swap.current") ?? 0) : null;
    }

    /// <summary>The highest usage seen (v1 max_usage_in_bytes; v2 memory.peak, kernel 5.19 and later).</summary>
    public long? ReadPeak() => Version == CgroupVersion.V1 ? ReadNumber("memory.max_usage_in_bytes") : ReadNumber("memory.peak");

    /// <summary>How many processes the kernel's OOM killer has killed in this group (and, on v2, below it).</summary>
    public long? ReadOomKillCount() =>
        ReadEvents() is { } events && events.TryGetValue("oom_kill", out var count) ? count : null;

    /// <summary>
    /// The group's event counters: v2 memory.events (low, high, max, oom, oom_kill, oom_group_kill);
    /// v1 memory.oom_control (oom_kill_disable, under_oom, oom_kill) plus failcnt.
    /// </summary>
    public IReadOnlyDictionary<string, long>? ReadEvents()
    {
        var counters = ReadKeyValues(Version == CgroupVersion.V1 ? "memory.oom_control" : "memory.events");
        if (counters is null) return null;
        if (Version == CgroupVersion.V1 && ReadNumber("memory.failcnt") is { } failures) counters["failcnt"] = failures;
        return counters;
    }

    /// <summary>The group's memory PSI (v2 memory.pressure); null on v1, which has pressure levels instead (see <see cref="CgroupNotification"/>).</summary>
    public PressureStall? ReadPressure() => Version == CgroupVersion.V2 ? PressureStall.ReadFile(File("memory.pressure")) : null;

    /// <summary>The processes in the group now.</summary>
    public IReadOnlyList<int> ReadProcesses()
    {
        try
        {
            return System.IO.File.ReadAllLines(ProcsFile)
                .Select(line => int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                .Where(pid => pid > 0).ToList();
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    public bool Exists => System.IO.Directory.Exists(Directory);

    public override string ToString() => $"{Path} (cgroup v{(int)Version})";

    internal long? ReadNumber(string name)
    {
        var text = ReadText(name);
        return text is not null && long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    /// <summary>v2 files such as memory.max hold a number or "max".</summary>
    private long? ReadNumberOrMax(string name) => ReadText(name)?.Trim() == "max" ? long.MaxValue : ReadNumber(name);

    private Dictionary<string, long>? ReadKeyValues(string name)
    {
        var text = ReadText(name);
        if (text is null) return null;
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                values[parts[0]] = value;
        }
        return values;
    }

    private string? ReadText(string name)
    {
        try
        {
            return System.IO.File.ReadAllText(File(name));
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
