using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>fork (the child is left untracked), exec of the same pid (a new generation), and
/// other processes started with the same environment (kept out of the ring).</summary>
public class ProcessTreeTests
{
    private static async Task<HookedResult> Run(string mode)
    {
        var binary = CProgram.Build("fork_exec.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, [mode]);
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    private static int CountOfSize(HookedResult result, ulong size) => result.Of(RecordKind.Alloc).Count(e => e.Size == size);

    [Fact]
    public async Task AForkedChildIsLeftUntrackedAndTheParentGoesOnRecording()
    {
        var result = await Run("fork");
        Assert.Contains("child 7", result.Output);
        Assert.Equal(1, CountOfSize(result, 1111));
        Assert.Equal(0, CountOfSize(result, 2222));
        Assert.Equal(1, CountOfSize(result, 3333));
        // The child's _exit(7) did not overwrite the parent's exit marks.
        Assert.Equal((ExitKind.MainReturn, 0), (result.Marks.ExitKind, result.Marks.ExitStatus));
        Assert.Single(result.Of(RecordKind.Attach));
    }

    [Fact]
    public async Task AnExecOfTheSamePidAttachesAgainAsANewGeneration()
    {
        var result = await Run("exec");
        var attaches = result.Of(RecordKind.Attach).ToList();
        Assert.Equal(2, attaches.Count);
        Assert.Equal((1u, AttachFlags.None), (attaches[0].Generation, attaches[0].AttachFlags));
        Assert.Equal((2u, AttachFlags.Exec), (attaches[1].Generation, attaches[1].AttachFlags));
        Assert.Equal(attaches[0].Pid, attaches[1].Pid);
        Assert.Contains($"stage2 pid {attaches[0].Pid}", result.Output);

        var first = result.Of(RecordKind.Alloc).Single(e => e.Size == 4444);
        var after = result.Of(RecordKind.Alloc).Where(e => e.Size == 5555).ToList();
        Assert.Equal(3, after.Count);
        Assert.True(first.Position < attaches[1].Position);
        Assert.All(after, e => Assert.True(e.Position > attaches[1].Position));
        Assert.All(after, e => Assert.True(e.StackKnown));
        // The new image publishes its modules again, after its attach record.
        Assert.Contains(result.Of(RecordKind.ModuleLoad), m => m.Position > attaches[1].Position && m.ModuleFlags.HasFlag(ModuleFlags.MainProgram));
        Assert.Equal(0, result.UnknownStacks);
        Assert.Equal(2u, result.Marks.Generation);
    }

    [Fact]
    public async Task AnotherProcessStartedWithTheSameEnvironmentStaysOutOfTheRing()
    {
        var result = await Run("spawn");
        Assert.Contains("spawned 0", result.Output);
        Assert.Equal(1, CountOfSize(result, 6666));
        Assert.Equal(0, CountOfSize(result, 7777));
        Assert.Equal(1, CountOfSize(result, 8888));
        Assert.True(result.Counters.ForeignAttaches >= 1);
        Assert.Single(result.Of(RecordKind.Attach));
    }
}
