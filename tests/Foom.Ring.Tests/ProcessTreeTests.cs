using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>
/// The run's processes: a fork child that never execs is left untracked; an exec of the same pid
/// attaches again as a new generation; any other process of the run (a child that exec'd) claims a
/// spare ring of the recorder's pool and records into it, its later exec'd images included; with
/// no spare ready it is counted and left out.
/// </summary>
public class ProcessTreeTests
{
    private static async Task<HookedResult> Run(string mode, int spares = 0)
    {
        var binary = CProgram.Build("fork_exec.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, [mode], new HookedRunOptions { PoolSpares = spares });
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    private static int CountOfSize(IEnumerable<RecordedEvent> events, ulong size) => events.Count(e => e.Kind == RecordKind.Alloc && e.Size == size);

    [Fact]
    public async Task AForkedChildThatNeverExecsIsLeftUntrackedAndTheParentGoesOnRecording()
    {
        var result = await Run("fork", spares: 2);
        Assert.Contains("child 7", result.Output);
        Assert.Equal(1, CountOfSize(result.Events, 1111));
        Assert.Equal(0, CountOfSize(result.Events, 2222));
        Assert.Equal(1, CountOfSize(result.Events, 3333));
        // The child's _exit(7) did not overwrite the parent's exit marks, and it claimed no spare ring.
        Assert.Equal((ExitKind.MainReturn, 0), (result.Marks.ExitKind, result.Marks.ExitStatus));
        Assert.Single(result.Of(RecordKind.Attach));
        Assert.Equal(0u, result.Pool.Claimed);
        Assert.Empty(result.ClaimedRings);
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
    public async Task AChildThatExecsRecordsIntoASpareRingOfItsOwn()
    {
        var result = await Run("spawn", spares: 2);
        Assert.Contains("spawned 0", result.Output);
        Assert.Equal(1, CountOfSize(result.Events, 6666));
        Assert.Equal(0, CountOfSize(result.Events, 7777));
        Assert.Equal(1, CountOfSize(result.Events, 8888));
        Assert.Single(result.Of(RecordKind.Attach));
        var parentPid = result.Of(RecordKind.Attach).Single().Pid;

        var child = Assert.Single(result.ClaimedRings);
        Assert.Equal(0, child.Index);
        Assert.Equal(1, CountOfSize(child.Events, 7777));
        Assert.Equal(0, CountOfSize(child.Events, 6666));
        var attach = Assert.Single(child.Of(RecordKind.Attach));
        Assert.Equal(child.Pid, attach.Pid);
        Assert.NotEqual(parentPid, child.Pid);
        Assert.Equal(parentPid, child.ParentPid);
        Assert.EndsWith("spawned", child.CommandLine);
        // Its own end is in its own ring; the parent's marks are the parent's.
        Assert.Equal((ExitKind.MainReturn, 0), (child.Marks.ExitKind, child.Marks.ExitStatus));
        Assert.Equal((1u, 0u), (result.Pool.Claimed, result.Pool.Exhausted));
        Assert.True(child.Of(RecordKind.Alloc).All(e => e.StackKnown));
    }

    [Fact]
    public async Task AChildThatExecsAgainKeepsItsRingAsANewGeneration()
    {
        var result = await Run("relay", spares: 2);
        Assert.Contains("spawned 0", result.Output);
        var child = Assert.Single(result.ClaimedRings);
        var attaches = child.Of(RecordKind.Attach).ToList();
        Assert.Equal(2, attaches.Count);
        Assert.Equal((2u, AttachFlags.Exec), (attaches[1].Generation, attaches[1].AttachFlags));
        Assert.Equal(attaches[0].Pid, attaches[1].Pid);
        var relayed = child.Of(RecordKind.Alloc).Single(e => e.Size == 9999);
        var spawned = child.Of(RecordKind.Alloc).Single(e => e.Size == 7777);
        Assert.True(relayed.Position < attaches[1].Position && spawned.Position > attaches[1].Position);
        Assert.Equal(1u, result.Pool.Claimed);
        Assert.Equal(0, CountOfSize(result.Events, 9999) + CountOfSize(result.Events, 7777));
    }

    [Fact]
    public async Task AChildThatFindsNoSpareRingIsCountedAndLeftOut()
    {
        var result = await Run("spawn");
        Assert.Contains("spawned 0", result.Output);
        Assert.Equal(1, CountOfSize(result.Events, 6666));
        Assert.Equal(0, CountOfSize(result.Events, 7777));
        Assert.Equal(1, CountOfSize(result.Events, 8888));
        Assert.True(result.Counters.ForeignAttaches >= 1);
        Assert.Equal((0u, 0u, 1u), result.Pool);
        Assert.Single(result.Of(RecordKind.Attach));
    }
}
