using System.Text.Json;
using Foom.Recorder.Limits;
using Foom.Testing;

namespace Foom.Cli.Tests;

/// <summary>`foom ps` and the kill order behind it, with a real program made the kernel's first choice.</summary>
public sealed class PsCommandTests : IDisposable
{
    private readonly FoomCli _foom = new();

    public void Dispose() => _foom.Dispose();

    private const long MiB = 1 << 20;

    [Fact]
    public void AProgramWithTheHighestScoreAdjustmentComesFirstWithItsGroupAndLimit()
    {
        using var owned = TestCgroups.Create(256 * MiB);
        using var program = TestCgroups.StartInside(owned, CProgram.Build("memory_eater.c"), "64", "16", "60");
        try
        {
            while (program.StandardOutput.ReadLine() is { } line && line != "done")
            {
            }
            // oom_score_adj 1000: the kernel's first victim, whatever else runs on the machine.
            File.WriteAllText($"/proc/{program.Id}/oom_score_adj", "1000");

            var run = _foom.Run("ps", "--format", "json");
            Assert.True(run.ExitCode == 0, run.Errors);
            var processes = JsonDocument.Parse(run.Output).RootElement.EnumerateArray().ToList();
            var first = processes[0];
            Assert.Equal(program.Id, first.GetProperty("pid").GetInt32());
            Assert.StartsWith("memory_eater", first.GetProperty("name").GetString());
            Assert.Equal(1000, first.GetProperty("oom_score_adj").GetInt32());
            Assert.True(first.GetProperty("oom_score").GetInt32() >= 1000);
            Assert.InRange(first.GetProperty("footprint_bytes").GetInt64(), 64 * MiB, 200 * MiB);
            Assert.Equal(owned.Group.Path, first.GetProperty("cgroup").GetString());
            Assert.Equal(256 * MiB, first.GetProperty("limit_bytes").GetInt64());

            var scores = processes.Select(p => p.GetProperty("oom_score").GetInt32()).ToList();
            Assert.Equal(scores.OrderByDescending(score => score), scores);
            Assert.Contains(processes, p => p.GetProperty("pid").GetInt32() == Environment.ProcessId);

            var text = _foom.Run("ps", "--top", "3");
            var lines = text.Output.Split('\n');
            Assert.Contains(lines, line => line.Contains("oom_score_adj") && line.Contains("memory cgroup") && line.Contains("footprint"));
            Assert.Contains(lines, line => line.Contains($"│ {program.Id} ") || line.Contains($" {program.Id} │"));
            Assert.Contains(lines, line => line.Contains(owned.Group.Path) && line.Contains("256.0 MiB"));
        }
        finally
        {
            program.Kill();
            TestCgroups.WaitOrKill(program);
        }
    }

    [Fact]
    public void KernelThreadsAreLeftOutAndTheOrderIsTheKernels()
    {
        var list = MemoryPriorityList.Read();
        Assert.DoesNotContain(list, rank => rank.Pid == 2); // kthreadd
        Assert.Contains(list, rank => rank.Pid == Environment.ProcessId && rank.FootprintBytes > MiB);

        var ordered = MemoryPriorityList.Order([
            new ProcessKillRank(3, "c", 10, 500, 0, null, null),
            new ProcessKillRank(1, "a", 99, 200, 0, null, null),
            new ProcessKillRank(2, "b", 20, 500, 0, null, null),
        ]);
        Assert.Equal([2, 3, 1], ordered.Select(rank => rank.Pid));
    }

    [Fact]
    public void ABadTopIsRefused()
    {
        var run = _foom.Run("ps", "--top", "0");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--top must be at least 1", run.Errors);
    }
}
