using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>A ring too small for a stalled consumer: producers wait, and what cannot wait is counted.</summary>
public class RingPressureTests
{
    [Fact]
    public async Task AFullRingMakesProducersWaitAndNothingIsLost()
    {
        var binary = CProgram.Build("alloc_loop.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, ["20000", "1000"], new HookedRunOptions
        {
            RingSize = 64 << 10,
            FullWaitMs = 60_000,
            ConsumerStall = TimeSpan.FromSeconds(1.5),
        });
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.True(result.Counters.FullWaits > 0, "the ring never filled up");
        Assert.True(result.Counters.FullWaitTime > TimeSpan.Zero);
        Assert.Equal(0ul, result.Counters.DroppedEvents);
        var kept = result.Of(RecordKind.Alloc).Count(e => result.Functions.NameOf(e.Frames[0]) == "keep_alive");
        Assert.Equal(1000, kept);
        Assert.Equal(20000, result.Of(RecordKind.Alloc).Count(e => e.Size is >= 16 and <= 1024 && result.Functions.NameOf(e.Frames[0]) == "main"));
    }

    [Fact]
    public async Task WhatCannotWaitIsDroppedAndCountedNeverLostSilently()
    {
        var binary = CProgram.Build("alloc_loop.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, ["200000", "1000"], new HookedRunOptions
        {
            RingSize = 64 << 10,
            FullWaitMs = 200,
            ConsumerStall = TimeSpan.FromSeconds(3),
        });
        Assert.True(result.ExitCode == 0, result.Describe());
        var counters = result.Counters;
        Assert.True(counters.FullWaits > 0 && counters.DroppedEvents > 0, $"nothing was dropped: {counters}");
        Assert.True(counters.DroppedAllocations + counters.DroppedFrees <= counters.DroppedEvents);
        // Every allocation and free the program made is either in the ring or counted as dropped
        // (libc's own few, its stdout buffer, come on top).
        var allocations = (ulong)result.Of(RecordKind.Alloc).Count() + counters.DroppedAllocations;
        var frees = (ulong)result.Of(RecordKind.Free).Count() + counters.DroppedFrees;
        Assert.InRange(allocations, 201_000ul, 201_010ul);
        Assert.InRange(frees, 200_000ul, 200_010ul);
        Assert.Equal(StopReason.None, result.Marks.Stopped);
        // A stack sent in full that was dropped never entered the thread's cache: no hash arrives
        // that the consumer cannot resolve.
        Assert.Equal(0, result.UnknownStacks);
    }
}
