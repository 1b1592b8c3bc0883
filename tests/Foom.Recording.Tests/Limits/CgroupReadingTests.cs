using Foom.Recorder.Limits;

namespace Foom.Recording.Tests.Limits;

/// <summary>Finding cgroups and reading their files: the formats of mountinfo, /proc/PID/cgroup, PSI, statm, smaps_rollup.</summary>
public class CgroupReadingTests
{
    private const string MountinfoV1AndV2 = """
        30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """;

    // A container: its cgroup namespace root bind-mounted, a mount point with a space (\040).
    private const string MountinfoContainerV2 = """
        1021 1018 0:26 /kubepods/pod1/abc /sys/fs/cgroup\040x ro,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
        """;

    [Fact]
    public void MountinfoGivesTheV1MemoryHierarchyAndTheV2One()
    {
        var mounts = CgroupMounts.Parse(MountinfoV1AndV2);
        Assert.Equal(new CgroupMount(CgroupVersion.V1, "/sys/fs/cgroup/memory", "/"), mounts.V1Memory);
        Assert.Equal(new CgroupMount(CgroupVersion.V2, "/sys/fs/cgroup/unified", "/"), mounts.V2);
    }

    [Fact]
    public void MountinfoEscapesAndContainerRootsAreUnderstood()
    {
        var mounts = CgroupMounts.Parse(MountinfoContainerV2);
        Assert.Null(mounts.V1Memory);
        Assert.Equal("/sys/fs/cgroup x", mounts.V2!.MountPoint);
        Assert.Equal("/kubepods/pod1/abc", mounts.V2.Root);
        Assert.Equal("/sys/fs/cgroup x/app", mounts.V2.DirectoryOf("/kubepods/pod1/abc/app"));
        Assert.Equal("/sys/fs/cgroup x", mounts.V2.DirectoryOf("/kubepods/pod1/abc"));
        Assert.Null(mounts.V2.DirectoryOf("/kubepods/pod2"));
        Assert.Equal("/kubepods/pod1/abc/app", mounts.V2.PathOf("/sys/fs/cgroup x/app"));
    }

    [Fact]
    public void ProcCgroupPicksTheV1MemoryLine()
    {
        var mounts = CgroupMounts.Parse(MountinfoV1AndV2);
        var group = MemoryCgroup.FromProcCgroup("""
            9:name=systemd:/
            4:memory:/process_api/250879dee26a9de214b58458babab18e
            2:cpu,cpuacct:/x
            0::/
            """, mounts);
        Assert.NotNull(group);
        Assert.Equal(CgroupVersion.V1, group.Version);
        Assert.Equal("/sys/fs/cgroup/memory/process_api/250879dee26a9de214b58458babab18e", group.Directory);
        Assert.Equal("/process_api/250879dee26a9de214b58458babab18e", group.Path);
        Assert.Equal("/process_api", group.Parent!.Path);
        Assert.Equal("/", group.Parent.Parent!.Path);
        Assert.Null(group.Parent.Parent.Parent);
    }

    [Fact]
    public void ProcCgroupWithoutAMemoryControllerGivesNoGroup()
    {
        // v2 only, and (on this machine) v2 lacks the memory controller; a v1 line without memory.
        var mounts = new CgroupMounts(null, new CgroupMount(CgroupVersion.V2, "/nonexistent/cgroup2", "/"));
        Assert.Null(MemoryCgroup.FromProcCgroup("0::/user.slice/session-1.scope\n", mounts));
        Assert.Null(MemoryCgroup.FromProcCgroup("3:cpuset:/\n", CgroupMounts.Parse(MountinfoV1AndV2)));
    }

    [Fact]
    public void ThisProcessHasAMemoryGroupWhoseFilesRead()
    {
        var own = MemoryCgroup.OfProcess(Environment.ProcessId);
        Assert.True(own is not null, "this test needs a memory cgroup controller (v1 or v2) on the machine");
        Assert.True(own.Exists, own.Directory);
        Assert.True(own.ReadUsage() > 0);
        Assert.NotNull(own.ReadEvents());
        Assert.Contains(Environment.ProcessId, own.ReadProcesses());
        // The effective limit is a real limit of some ancestor, or none: never the v1 "unlimited" sentinel.
        if (own.ReadEffectiveLimit() is { } limit) Assert.True(limit.Bytes < 1L << 62);
    }

    [Fact]
    public void PressureStallInformationParses()
    {
        var stall = PressureStall.Parse("some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\nfull avg10=0.10 avg60=0.00 avg300=0.00 total=789\n");
        Assert.NotNull(stall);
        Assert.Equal(new PressureLine(1.5, 0.25, 0, 123456), stall.Some);
        Assert.Equal(789, stall.Full!.TotalMicroseconds);
        Assert.Null(PressureStall.Parse("some avg10=x total=1"));
        Assert.Null(PressureStall.Parse(""));
        Assert.NotNull(PressureStall.ReadSystem());
    }

    [Fact]
    public void SmapsRollupStatmAndStatusParse()
    {
        var rollup = ProcessMemory.ParseSmapsRollup("""
            55abef450000-7fff153fb000 ---p 00000000 00:00 0                          [rollup]
            Rss:                1752 kB
            Pss:                 211 kB
            Anonymous:           112 kB
            Swap:                 64 kB
            SwapPss:              64 kB
            """);
        Assert.Equal(new ProcessMemoryUsage(1752 * 1024, 64 * 1024, 211 * 1024, 112 * 1024, "smaps_rollup"), rollup);
        Assert.Equal((1752 + 64) * 1024, rollup!.FootprintBytes);
        Assert.Null(ProcessMemory.ParseSmapsRollup("garbage"));
        Assert.Equal(405, ProcessMemory.ParseStatmResidentPages("765 405 376 5 0 123 0\n"));
        Assert.Null(ProcessMemory.ParseStatmResidentPages("765"));
        Assert.Equal(2000, ProcessMemory.ParseStatusKilobytes("VmHWM:\t    2000 kB\nVmSwap:\t       0 kB\n", "VmHWM"));
        var machine = MachineMemory.Parse("MemTotal:       24683620 kB\nMemFree:        22166760 kB\nMemAvailable:   23663780 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
        Assert.Equal(new MachineMemory(24683620L * 1024, 23663780L * 1024, 0, 0), machine);
    }

    [Fact]
    public void ThisProcessesFootprintAndOomScoreRead()
    {
        var usage = ProcessMemory.Read(Environment.ProcessId);
        Assert.NotNull(usage);
        Assert.True(usage.ResidentBytes > 1 << 20);
        var score = ProcessMemory.ReadOomScore(Environment.ProcessId);
        Assert.NotNull(score);
        Assert.InRange(score.Value.Adjust, -1000, 1000);
        Assert.True(score.Value.Score >= 0);
        Assert.Null(ProcessMemory.Read(int.MaxValue));
        Assert.Null(ProcessMemory.ReadOomScore(int.MaxValue));
    }

    [Fact]
    public void WithoutAnyCgroupLimitTheLimitIsTheMachinesMemory()
    {
        // This process's own group has no limit here (the CI runs it the same way); if a
        // machine does limit it, that limit, not MemTotal, must come back.
        var limit = new TargetMemory(Environment.ProcessId).ResolveLimit();
        var inherited = MemoryCgroup.OfProcess(Environment.ProcessId)?.ReadEffectiveLimit();
        if (inherited is null)
        {
            Assert.Equal("memtotal", limit.Source);
            Assert.Equal(MachineMemory.Read()!.TotalBytes, limit.Bytes);
        }
        else
        {
            Assert.Equal(inherited.Value.Bytes, limit.Bytes);
            Assert.Equal(inherited.Value.SetBy.Path, limit.Cgroup);
        }
        // A limit Foom enforces itself wins when it is the smallest.
        var enforced = new TargetMemory(Environment.ProcessId).ResolveLimit(enforcedByFoom: 1 << 20);
        Assert.Equal(("foom", 1L << 20), (enforced.Source, enforced.Bytes));
    }
}
