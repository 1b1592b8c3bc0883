using Foom.Storage.Sessions;

namespace Foom.Recorder.Limits;

/// <summary>One footprint reading: how many bytes, measured how, and when.</summary>
/// <param name="Source">"cgroup" (the group's usage + swap) or "process" (the process's resident + swap).</param>
public sealed record FootprintSample(long Bytes, string Source, long TimeMilliseconds);

/// <summary>
/// The limit and footprint of one monitored program, the Linux counterparts of the Jetsam limit
/// and phys_footprint. docs/limits.md explains the choices.
/// </summary>
/// <param name="ringBytes">How much of Foom's ring the program has mapped resident (it is in its
/// VmRSS but charged to the recorder, and left out of the footprint); none when null.</param>
public sealed class TargetMemory(int pid, OwnedMemoryCgroup? ownGroup = null, Func<long>? ringBytes = null)
{
    public int Pid { get; } = pid;

    public OwnedMemoryCgroup? OwnGroup { get; } = ownGroup;

    /// <summary>
    /// The footprint: with a group of its own, everything charged to the group (RAM and swap,
    /// page cache and kernel memory included) — exactly what the kernel compares with the
    /// limit before it kills, and it includes the program's children; without one, the
    /// process's resident plus swapped bytes, what the OOM killer weighs, less Foom's ring. Null when neither can
    /// be read (the process is gone and there is no group).
    /// </summary>
    public FootprintSample? ReadFootprint()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (OwnGroup is not null && OwnGroup.Group.ReadUsageWithSwap() is { } charged)
            return new FootprintSample(charged, "cgroup", now);
        return ProcessMemory.ReadFootprintBytes(Pid, ringBytes?.Invoke() ?? 0) is { } bytes ? new FootprintSample(bytes, "process", now) : null;
    }

    /// <summary>
    /// The limit that applies: the smallest of Foom's own (its group's limit, or
    /// <paramref name="enforcedByFoom"/> when Foom enforces one itself), the memory cgroup
    /// the process sits in (and its ancestors), and, when nothing else limits it, MemTotal.
    /// </summary>
    public MemoryLimit ResolveLimit(long? enforcedByFoom = null, CgroupMounts? mounts = null)
    {
        MemoryLimit? best = null;
        void Consider(long bytes, string source, string? cgroup)
        {
            if (best is null || bytes < best.Bytes) best = new MemoryLimit { Bytes = bytes, Source = source, Cgroup = cgroup };
        }

        if (OwnGroup is not null) Consider(OwnGroup.LimitBytes, OwnGroup.LimitSource, OwnGroup.Group.Path);
        if (enforcedByFoom is { } own) Consider(own, "foom", null);
        // The group the process runs in: its own (then its ancestors' limits count too) or inherited.
        var group = OwnGroup?.Group ?? MemoryCgroup.OfProcess(Pid, mounts) ?? MemoryCgroup.OfProcess(Environment.ProcessId, mounts);
        if (group?.ReadEffectiveLimit() is { } inherited)
            Consider(inherited.Bytes, inherited.SetBy.Version == CgroupVersion.V1 ? "cgroup-v1" : "cgroup-v2", inherited.SetBy.Path);
        if (best is null && MachineMemory.Read() is { } machine) Consider(machine.TotalBytes, "memtotal", null);
        return best ?? new MemoryLimit { Bytes = 0, Source = "unknown" };
    }

    public OomScore? ReadOomScore() => ProcessMemory.ReadOomScore(Pid);
}
