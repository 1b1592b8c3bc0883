using Foom.Testing;

namespace Foom.Recording.Tests.Run;

/// <summary>`foom run --limit`: the kernel's OOM killer in a memory cgroup (Jetsam's part), Foom's own kill, warnings.</summary>
public sealed class RunLimitTests : IDisposable
{
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task AKernelOomKillInTheRunsMemoryCgroupIsAnObservedForegroundOom()
    {
        var program = CProgram.Build("hoard.c");
        var result = await _foom.RunAsync("run", "--limit", "64M", "--app", "hoarder", "--", program, "400");
        var info = _foom.OnlySession("hoarder");
        Assert.True(info.Limit?.Source is "cgroup-v1" or "cgroup-v2",
            $"the run needs a memory cgroup (root and the memory controller; .ci/run runs as root), but its limit came from {info.Limit?.Source}:\n{result.Describe()}");
        Assert.Equal(137, result.ExitCode);
        var end = info.End!;
        Assert.Equal(("foreground_oom", "observed", 9), (end.ExitReason, end.How, end.Signal));
        Assert.Contains(end.Evidence, line => line.Contains("oom_kill counter") || line.Contains("Killed process"));
        Assert.Equal(64L << 20, info.Limit!.Bytes);
        Assert.InRange(info.PeakFootprintBytes ?? 0, 32L << 20, 64L << 20);
        // The group is Foom's to remove, even after a kill.
        Assert.False(Directory.Exists(Path.Combine("/sys/fs/cgroup/memory", info.Limit.Cgroup!.TrimStart('/'))),
            $"the memory cgroup {info.Limit.Cgroup} was left behind");
    }

    [Fact]
    public async Task WithoutACgroupFoomKillsAtTheLimitItselfAndSaysSo()
    {
        var program = CProgram.Build("hoard.c");
        var result = await _foom.RunAsync("run", "--limit", "48M", "--limit-by", "foom", "--app", "jetsam", "--", program, "400", "256", "30");
        Assert.Equal(137, result.ExitCode);
        var info = _foom.OnlySession("jetsam");
        Assert.Equal("foom", info.Limit!.Source);
        Assert.Equal(("foreground_oom", "observed"), (info.End!.ExitReason, info.End.How));
        Assert.Contains(info.End.Evidence, line => line.StartsWith("foom killed it (SIGKILL)"));
    }

    [Fact]
    public async Task ALimitBelowWhatTheProgramNeedsToStartIsAForegroundOomNotAFoomFailure()
    {
        var program = CProgram.Build("hoard.c");
        var result = await _foom.RunAsync("run", "--limit", "1M", "--app", "tiny", "--", program, "16");
        Assert.Equal(137, result.ExitCode);
        Assert.Equal("foreground_oom", _foom.OnlySession("tiny").End!.ExitReason);
    }

    [Fact]
    public async Task AWarningAtTheThresholdIsRecordedAndReachesTheProgramByCallbackAndSignal()
    {
        var program = CProgram.Build("warned.c");
        var result = await _foom.RunAsync("run", "--limit", "256M", "--warn-at", "0.25", "--warn-signal", "SIGUSR1",
            "--app", "warned", "--", program, "96");
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("callbacks=1 signals=1", result.Output);
        var warning = Assert.Single(_foom.OnlySession("warned").Warnings);
        Assert.Equal("threshold", warning.Source);
        Assert.Equal(256L << 20, warning.LimitBytes);
        Assert.True(warning.FootprintBytes >= 64L << 20, $"warned at {warning.FootprintBytes} bytes, below 25% of the limit");
    }

    [Fact]
    public async Task TheKernelsNotificationsReachTheSessionEvenWhenTheProgramDiesBetweenSamples()
    {
        // Growing 1 MiB at a time to the 32 MiB limit takes a few milliseconds: the kernel's usage
        // threshold and its OOM notification tell the recorder what its 50 ms samples miss.
        var result = await _foom.RunAsync("run", "--limit", "32M", "--app", "eaten", "--",
            CProgram.Build("memory_eater.c"), "256", "1");
        Assert.True(result.ExitCode == 137, result.Describe());
        var warnings = _foom.OnlySession("eaten").Warnings;
        Assert.Contains(warnings, warning => warning.Source == "threshold");
        Assert.Contains(warnings, warning => warning.Source == "oom");
        Assert.All(warnings, warning => Assert.Equal(32L << 20, warning.LimitBytes));
    }

    [Fact]
    public async Task TheWatchdogKillsAForegroundProgramWhoseHeartbeatsStopped()
    {
        var program = CProgram.Build("heartbeat.c");
        var result = await _foom.RunAsync("run", "--watchdog", "1", "--app", "stalls", "--", program, "5");
        Assert.Equal(137, result.ExitCode);
        Assert.Contains("stalled", result.Output);
        var end = _foom.OnlySession("stalls").End!;
        Assert.Equal(("watchdog", "observed"), (end.ExitReason, end.How));
    }

    [Fact]
    public async Task TheWatchdogLeavesABackgroundProgramAlone()
    {
        var program = CProgram.Build("heartbeat.c");
        var result = await _foom.RunAsync("run", "--watchdog", "1", "--app", "background", "--", program, "3", "background");
        Assert.True(result.ExitCode == 0, result.Describe());
        var session = _foom.OnlySession("background");
        Assert.Equal("exit", session.End!.ExitReason);
        // Three seconds alive: the recorder read the kill priority while it ran.
        Assert.True(session.OomScore is >= 0 and <= 1000, $"oom_score {session.OomScore}");
        Assert.Equal(0, session.OomScoreAdj);
    }

    public void Dispose() => _foom.Dispose();
}
