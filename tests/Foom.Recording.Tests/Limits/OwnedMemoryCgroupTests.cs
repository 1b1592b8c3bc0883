using System.Diagnostics;
using Foom.Recorder.Limits;
using Foom.Testing;

namespace Foom.Recording.Tests.Limits;

/// <summary>Real memory cgroups, made and removed by the tests, and real kernel OOM kills inside them.</summary>
public class OwnedMemoryCgroupTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public void AGroupIsMadeWithTheLimitAndRemovedAgain()
    {
        var owned = TestCgroups.Create(64 * MiB);
        try
        {
            Assert.True(Directory.Exists(owned.Group.Directory));
            Assert.Equal(64 * MiB, owned.LimitBytes);
            Assert.Equal(64 * MiB, owned.Group.ReadLimit());
            Assert.Equal(0, owned.ReadOomKillsSinceCreation());
            Assert.Empty(owned.Group.ReadProcesses());
            Assert.Contains(owned.Notes, note => note.StartsWith("limit 67108864 bytes", StringComparison.Ordinal));
            Assert.StartsWith("cgroup-v", owned.LimitSource);
            // The group's path is the one /proc/PID/cgroup and the kernel's OOM lines will name.
            Assert.EndsWith("/" + Path.GetFileName(owned.Group.Directory), owned.Group.Path);
        }
        finally
        {
            var removal = owned.Remove();
            Assert.True(removal.Removed, removal.Problem);
        }
        Assert.False(Directory.Exists(owned.Group.Directory));
        Assert.True(owned.Removed);
    }

    [Fact]
    public void TheTrampolinePutsTheProgramInTheGroupBeforeItRuns()
    {
        using var owned = TestCgroups.Create(64 * MiB);
        using var cat = TestCgroups.StartInside(owned, "/bin/cat", "/proc/self/cgroup");
        var output = cat.StandardOutput.ReadToEnd();
        TestCgroups.WaitOrKill(cat);
        Assert.Equal(0, cat.ExitCode);
        // cat reads its own cgroup file: the very first thing it does already runs in the group.
        Assert.Equal(owned.Group.Path, MemoryCgroup.FromProcCgroup(output, CgroupMounts.Current())!.Path);
    }

    [Fact]
    public void TheTrampolineArgumentsSurviveSpacesAndQuotes()
    {
        using var owned = TestCgroups.Create(64 * MiB);
        using var echo = TestCgroups.StartInside(owned, "/bin/echo", "two  spaces", "it's \"quoted\"", "$HOME");
        var output = echo.StandardOutput.ReadToEnd();
        TestCgroups.WaitOrKill(echo);
        Assert.Equal("two  spaces it's \"quoted\" $HOME\n", output);
    }

    [Fact]
    public void ATrampolineThatCannotEnterTheGroupSaysSoAndDoesNotRunTheProgram()
    {
        var owned = TestCgroups.Create(64 * MiB);
        Assert.True(owned.Remove().Removed);
        var marker = Path.Combine(Path.GetTempPath(), "foom-trampoline-" + Guid.NewGuid().ToString("N"));
        using var touch = TestCgroups.StartInside(owned, "/usr/bin/touch", marker);
        var errors = touch.StandardError.ReadToEnd();
        TestCgroups.WaitOrKill(touch);
        Assert.Equal(OwnedMemoryCgroup.TrampolineFailedStatus, touch.ExitCode);
        Assert.Contains("foom: cannot enter the memory cgroup", errors);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void TheKernelKillsAProgramOverTheLimitAndTheCounterAndKernelLogSayWhy()
    {
        using var kernelLog = KernelOomWatch.Start();
        Assert.True(kernelLog.Readable, kernelLog.Problem);
        using var owned = TestCgroups.Create(32 * MiB);
        var eater = CProgram.Build("memory_eater.c");
        using var process = TestCgroups.StartInside(owned, eater, "256", "4");
        var pid = process.Id;
        var output = process.StandardOutput.ReadToEnd();
        TestCgroups.WaitOrKill(process);

        Assert.Equal(128 + 9, process.ExitCode); // SIGKILL
        Assert.DoesNotContain("done", output);
        Assert.Equal(1, owned.ReadOomKillsSinceCreation());
        Assert.True(owned.Group.ReadPeak() >= 28 * MiB, $"peak {owned.Group.ReadPeak()}");

        var kill = kernelLog.WaitForKill(pid, TimeSpan.FromSeconds(10));
        Assert.NotNull(kill);
        Assert.True(kill.Killed.InMemoryCgroup, kill.Killed.Text);
        Assert.Equal("memory_eater-" , kill.Killed.Task[..13]);
        Assert.InRange(kill.Killed.AnonRssKilobytes, 16 * 1024, 33 * 1024);
        Assert.True(kill.Killed.TotalVmKilobytes >= kill.Killed.AnonRssKilobytes);
        Assert.NotNull(kill.Constraint);
        Assert.Equal("CONSTRAINT_MEMCG", kill.Constraint.Constraint);
        Assert.Equal(owned.Group.Path, kill.Constraint.TaskMemcg);
        Assert.Contains(kill.GroupUsage, usage => usage.Counter == "memory" && usage.LimitKilobytes == 32 * 1024);
        Assert.Contains(kill.Evidence(), line => line.StartsWith("kernel: Memory cgroup out of memory: Killed process " + pid, StringComparison.Ordinal));

        var removal = owned.Remove();
        Assert.True(removal.Removed, removal.Problem);
    }

    [Fact]
    public void RemovalMovesLiveLeftoversToTheParentInsteadOfKillingThem()
    {
        var owned = TestCgroups.Create(64 * MiB);
        Process? leftover = null;
        try
        {
            // The program starts a long sleep in the background and exits: the sleep stays in the group.
            using var shell = TestCgroups.StartInside(owned, "/bin/sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!");
            var sleepPid = int.Parse(shell.StandardOutput.ReadLine()!);
            TestCgroups.WaitOrKill(shell);
            leftover = Process.GetProcessById(sleepPid);
            Assert.Contains(sleepPid, owned.Group.ReadProcesses());

            var removal = owned.Remove();
            Assert.True(removal.Removed, removal.Problem);
            Assert.Equal([sleepPid], removal.MovedOut);
            Assert.False(leftover.HasExited);
            Assert.Equal(owned.Group.Parent!.Path, MemoryCgroup.OfProcess(sleepPid)!.Path);
        }
        finally
        {
            leftover?.Kill();
            owned.Remove();
        }
    }

    [Fact]
    public void WhereNoGroupCanBeMadeTheReasonIsGivenForTheCallerToEnforceTheLimit()
    {
        // A "cgroup mount" in a read-only place: mkdir really fails there, as it does for a non-root user.
        var readOnly = new CgroupMounts(new CgroupMount(CgroupVersion.V1, "/proc/sys", "/"), null);
        var creation = OwnedMemoryCgroup.Create("foom-test-unwritable", 64 * MiB, readOnly);
        Assert.False(creation.Succeeded);
        Assert.Contains("cannot create /proc/sys/foom-test-unwritable", creation.WhyNot);
        Assert.StartsWith("no memory cgroup could be made", creation.WhyNot);

        var none = OwnedMemoryCgroup.Create("foom-test-nothing", 64 * MiB, new CgroupMounts(null, null));
        Assert.False(none.Succeeded);
        Assert.Contains("no cgroup v1 hierarchy carries the memory controller", none.WhyNot);
    }

    [Fact]
    public void TargetMemoryReadsTheGroupsLimitAndUsageAsTheFootprint()
    {
        using var owned = TestCgroups.Create(128 * MiB);
        var eater = CProgram.Build("memory_eater.c");
        using var process = TestCgroups.StartInside(owned, eater, "48", "8", "30");
        try
        {
            while (process.StandardOutput.ReadLine() is { } line && line != "done")
            {
            }
            var target = new TargetMemory(process.Id, owned);
            var limit = target.ResolveLimit();
            Assert.Equal(128 * MiB, limit.Bytes);
            Assert.Equal(owned.LimitSource, limit.Source);
            Assert.Equal(owned.Group.Path, limit.Cgroup);

            var footprint = target.ReadFootprint();
            Assert.NotNull(footprint);
            Assert.Equal("cgroup", footprint.Source);
            Assert.InRange(footprint.Bytes, 48 * MiB, 128 * MiB);

            // Without the group, the same process is measured by its own resident + swap.
            var alone = new TargetMemory(process.Id).ReadFootprint();
            Assert.NotNull(alone);
            Assert.Equal("process", alone.Source);
            Assert.InRange(alone.Bytes, 48 * MiB, 128 * MiB);
            Assert.NotNull(target.ReadOomScore());
        }
        finally
        {
            process.Kill();
            TestCgroups.WaitOrKill(process);
        }
    }
}
