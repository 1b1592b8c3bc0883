using Foom.Recorder.Limits;

namespace Foom.Recording.Tests.Limits;

/// <summary>The kernel log: /dev/kmsg records and the OOM killer's lines, old kernels' and new.</summary>
public class KernelLogTests
{
    // Captured on this machine (6.18) from a memory cgroup OOM kill.
    private static readonly string[] Kernel618MemcgKill =
    [
        "4,341,812992044,-;python3 invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
        "4,342,812992067,-;CPU: 1 UID: 0 PID: 8093 Comm: python3 Not tainted 6.18.44-fc-v769 #1 PREEMPT(none) ",
        "6,369,812992563,-;memory: usage 32768kB, limit 32768kB, failcnt 240",
        "6,370,812992566,-;memory+swap: usage 32768kB, limit 9007199254740988kB, failcnt 0",
        "6,371,812992566,-;kmem: usage 176kB, limit 9007199254740988kB, failcnt 0",
        "6,418,812992630,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/foomprobe,task_memcg=/foomprobe,task=python3,pid=8093,uid=0",
        "3,419,812992644,-;Memory cgroup out of memory: Killed process 8093 (python3) total-vm:221380kB, anon-rss:32384kB, file-rss:6532kB, shmem-rss:0kB, UID:0 pgtables:132kB oom_score_adj:0",
    ];

    [Fact]
    public void KmsgRecordsParse()
    {
        var record = KernelLogRecord.Parse("3,419,812992644,-;Memory cgroup out of memory: Killed process 8093 (python3)\n SUBSYSTEM=x\n");
        Assert.Equal(new KernelLogRecord(3, 419, 812992644, "Memory cgroup out of memory: Killed process 8093 (python3)"), record);
        // The first field folds the facility in: level is its low three bits.
        Assert.Equal(6, KernelLogRecord.Parse("14,5,6,-;user message")!.Level);
        Assert.Null(KernelLogRecord.Parse("no semicolon here"));
        Assert.Null(KernelLogRecord.Parse("x,y,z;message"));
    }

    [Fact]
    public void AMemoryCgroupKillIsCollectedWithItsConstraintAndUsage()
    {
        var watch = Replay(Kernel618MemcgKill);
        var kill = watch.FindKill(8093);
        Assert.NotNull(kill);
        Assert.True(kill.Killed.InMemoryCgroup);
        Assert.Equal(("python3", 221380L, 32384L, 6532L, 0L), (kill.Killed.Task, kill.Killed.TotalVmKilobytes, kill.Killed.AnonRssKilobytes, kill.Killed.FileRssKilobytes, kill.Killed.ShmemRssKilobytes));
        Assert.Equal((0L, 132L, 0), (kill.Killed.Uid!.Value, kill.Killed.PageTablesKilobytes!.Value, kill.Killed.OomScoreAdj!.Value));
        Assert.Equal(("CONSTRAINT_MEMCG", "/foomprobe", "/foomprobe"), (kill.Constraint!.Constraint, kill.Constraint.OomMemcg!, kill.Constraint.TaskMemcg!));
        Assert.Equal(["memory", "memory+swap", "kmem"], kill.GroupUsage.Select(usage => usage.Counter));
        Assert.Equal("python3", kill.Invoked!.Task);
        Assert.Equal(419, kill.Sequence);
        var evidence = kill.Evidence().ToList();
        Assert.Equal("kernel: " + Kernel618MemcgKill[^1][18..], evidence[0]);
        Assert.Contains("kernel: constraint CONSTRAINT_MEMCG, limit of /foomprobe, victim in /foomprobe", evidence);
        Assert.Contains("kernel: memory usage 32768 kB of limit 32768 kB, failcnt 240", evidence);
        Assert.Null(watch.FindKill(8094));
    }

    [Fact]
    public void GlobalOomAndOldKernelFormatsAreRecognized()
    {
        // 5.x global OOM, the 4.14 format without UID/pgtables/oom_score_adj, and an unrelated line.
        var watch = Replay(
            "3,10,100,-;Out of memory: Killed process 4242 (java) total-vm:8388608kB, anon-rss:6291456kB, file-rss:1024kB, shmem-rss:0kB, UID:1000 pgtables:12400kB oom_score_adj:300",
            "3,11,200,-;Killed process 77 (chrome (renderer)) total-vm:1000kB, anon-rss:900kB, file-rss:10kB, shmem-rss:5kB",
            "6,12,300,-;EXT4-fs (vda): mounted filesystem");
        var java = watch.FindKill(4242)!;
        Assert.False(java.Killed.InMemoryCgroup);
        Assert.Equal(("Out of memory", 1000L, 300), (java.Killed.Scope!, java.Killed.Uid!.Value, java.Killed.OomScoreAdj!.Value));
        var chrome = watch.FindKill(77)!;
        Assert.Equal("chrome (renderer)", chrome.Killed.Task);
        Assert.Null(chrome.Killed.Scope);
        Assert.Null(chrome.Killed.OomScoreAdj);
        Assert.Equal(2, watch.Kills.Count);
    }

    [Theory]
    [InlineData("oom_reaper: reaped process 8093 (python3), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB", typeof(OomReaped))]
    [InlineData("java invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=300", typeof(OomInvoked))]
    [InlineData("memory: usage 99999999999999999999999kB, limit 1kB, failcnt 0", null)]
    [InlineData("Killed process 99999999999 (x) total-vm:1kB, anon-rss:1kB, file-rss:1kB, shmem-rss:1kB", null)]
    [InlineData("Memory cgroup out of memory: Kill process 1234 (old) score 999 or sacrifice child", null)]
    [InlineData("", null)]
    public void OtherLinesAndOverflowingNumbersNeverThrow(string message, Type? expected)
    {
        var line = KernelOomLines.Parse(message);
        Assert.Equal(expected, line?.GetType());
    }

    [Fact]
    public void TheInvokedLineCarriesItsScoreAdjustment()
    {
        var invoked = Assert.IsType<OomInvoked>(KernelOomLines.Parse("java invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, oom_score_adj=-300"));
        Assert.Equal(("java", -300), (invoked.Task, invoked.OomScoreAdj!.Value));
    }

    [Fact]
    public void KmsgIsReadFromNowOnAndOurOwnRecordComesBack()
    {
        var opening = KernelLog.OpenAtEnd();
        Assert.True(opening.Log is not null, opening.Problem);
        using var log = opening.Log;
        var before = log.ReadAvailable();
        // Root may write to /dev/kmsg: the line becomes a kernel log record like any other.
        var marker = "foom test marker " + Guid.NewGuid().ToString("N");
        File.AppendAllText(KernelLog.DefaultPath, marker + "\n");
        var after = log.ReadAvailable();
        var ours = Assert.Single(after, record => record.Message.Contains(marker));
        Assert.DoesNotContain(before, record => record.Message.Contains(marker));
        Assert.True(ours.Sequence > 0);
        Assert.DoesNotContain(log.ReadAvailable(), record => record.Message.Contains(marker));
    }

    [Fact]
    public void AnUnreadableKernelLogIsSaidNotThrown()
    {
        using var watch = KernelOomWatch.Start("/nonexistent/kmsg");
        Assert.False(watch.Readable);
        Assert.StartsWith("/nonexistent/kmsg is unreadable (", watch.Problem);
        Assert.Contains("the kernel's kill lines cannot be checked", watch.Problem);
        watch.Poll();
        Assert.Null(watch.WaitForKill(1, TimeSpan.FromSeconds(5)));
    }

    private static KernelOomWatch Replay(params string[] lines)
    {
        var watch = KernelOomWatch.Start("/nonexistent/kmsg");
        foreach (var line in lines) watch.Take(KernelLogRecord.Parse(line)!);
        return watch;
    }
}
