using System.Globalization;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Limits;

/// <summary>One process in the kill order: what XNU's memorystatus_priority_entry holds (pid, priority, limit), the Linux way.</summary>
/// <param name="Cgroup">The process's memory cgroup path, null without a memory controller.</param>
/// <param name="LimitBytes">The effective limit of that group (the smallest on its path), null when none.</param>
public sealed record ProcessKillRank(int Pid, string Name, long FootprintBytes, int OomScore, int OomScoreAdjust, string? Cgroup, long? LimitBytes);

/// <summary>
/// The machine's processes in the order the kernel's OOM killer would pick them: highest
/// oom_score first (it is the badness the killer computes, rss + swap + page tables scaled to
/// the memory available, plus oom_score_adj), bigger footprint first among equals. Kernel
/// threads have no memory of their own and are never picked; they are left out.
/// </summary>
public static class MemoryPriorityList
{
    private const uint KernelThreadFlag = 0x00200000; // PF_KTHREAD

    public static IReadOnlyList<ProcessKillRank> Read(CgroupMounts? mounts = null)
    {
        mounts ??= CgroupMounts.Current();
        var limits = new Dictionary<string, long?>(StringComparer.Ordinal);
        var ranks = new List<ProcessKillRank>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            // Each read may find the process gone: it is then simply not listed.
            if (IsKernelThread(pid)) continue;
            if (ProcessMemory.ReadOomScore(pid) is not { } score) continue;
            if (ProcessMemory.Read(pid) is not { } usage) continue;
            var name = KernelFiles.Read($"/proc/{pid}/comm")?.TrimEnd('\n');
            if (name is null) continue;
            var group = MemoryCgroup.OfProcess(pid, mounts);
            long? limit = null;
            if (group is not null && !limits.TryGetValue(group.Path, out limit))
                limits[group.Path] = limit = group.ReadEffectiveLimit()?.Bytes;
            ranks.Add(new ProcessKillRank(pid, name, usage.FootprintBytes, score.Score, score.Adjust, group?.Path, limit));
        }
        return Order(ranks);
    }

    /// <summary>The kernel's order: oom_score, then footprint, both descending; pid to break ties.</summary>
    public static IReadOnlyList<ProcessKillRank> Order(IEnumerable<ProcessKillRank> ranks) =>
        ranks.OrderByDescending(rank => rank.OomScore)
            .ThenByDescending(rank => rank.FootprintBytes)
            .ThenBy(rank => rank.Pid)
            .ToList();

    private static bool IsKernelThread(int pid)
    {
        return ProcessStat.Read(pid) is not { } stat || (stat.Flags & KernelThreadFlag) != 0;
    }
}
