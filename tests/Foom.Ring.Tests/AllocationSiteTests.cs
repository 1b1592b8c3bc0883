using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>A C program whose allocations per call site are known (alloc_sites.c), built with and
/// without frame pointers, recorded through the real hook and ring.</summary>
public class AllocationSiteTests
{
    private static async Task<HookedResult> Run(string flags, HookedRunOptions? options = null)
    {
        var binary = CProgram.Build("alloc_sites.c", flags, flags.Contains("-fno-omit") ? "-fp" : "-nofp");
        var result = await HookedRun.RunAsync(binary, [], options);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("done", result.Output);
        return result;
    }

    private static List<RecordedEvent> AllocationsFrom(HookedResult result, string site) =>
        result.Of(RecordKind.Alloc).Where(e => e.Frames.Length > 0 && result.Functions.NameOf(e.Frames[0]) == site).ToList();

    [Theory]
    [InlineData(CProgram.WithFramePointers, RecordFlags.FramePointers)]
    [InlineData(CProgram.WithoutFramePointers, RecordFlags.UnwindTables)]
    public async Task EveryAllocationIsAttributedToItsCallSiteWithItsCallers(string flags, RecordFlags unwinder)
    {
        var result = await Run(flags);
        var functions = result.Functions;

        var mallocs = AllocationsFrom(result, "site_malloc");
        Assert.Equal(100, mallocs.Count);
        Assert.All(mallocs, e =>
        {
            Assert.Equal(EventSource.Malloc, e.Source);
            Assert.Equal(24ul, e.Size);
            Assert.True(e.StackKnown);
            Assert.Equal(["site_malloc", "middle", "main"], functions.Names(e.Frames.Take(3)));
            Assert.True(e.Flags.HasFlag(unwinder), $"{e} was not unwound with {unwinder}");
        });

        var callocs = AllocationsFrom(result, "site_calloc");
        Assert.Equal(50, callocs.Count);
        Assert.All(callocs, e => Assert.Equal((EventSource.Calloc, 330ul), (e.Source, e.Size)));
        Assert.All(callocs, e => Assert.Equal(["site_calloc", "middle", "main"], functions.Names(e.Frames.Take(3))));

        var arrays = AllocationsFrom(result, "site_reallocarray");
        Assert.Equal((EventSource.Reallocarray, 77ul), (Assert.Single(arrays).Source, arrays[0].Size));

        // The thread's first frame is the last one: the walk and libunwind both stop there.
        var depth = mallocs[0].Frames.Length;
        Assert.Equal(4, depth);
        Assert.Null(functions.NameOf(mallocs[0].Frames[3]));
        Assert.Equal(0, result.UnknownStacks);
    }

    [Theory]
    [InlineData(CProgram.WithFramePointers)]
    [InlineData(CProgram.WithoutFramePointers)]
    public async Task FramePointerWalkAndUnwindTablesAgreeFrameForFrame(string flags)
    {
        var walked = await Run(flags);
        var unwound = await Run(flags, new HookedRunOptions { RingOptions = RingOptions.UnwindOnly });
        // Same program, two runs: compare frames as offsets from main (the load address changes).
        static string[] Relative(HookedResult r, string site) =>
            AllocationsFrom(r, site).First().Frames.Take(3).Select(f => (f - r.Functions.AddressOf("main")).ToString()).ToArray();
        foreach (var site in new[] { "site_malloc", "site_calloc", "site_realloc", "site_aligned", "site_reallocarray" })
            Assert.Equal(Relative(unwound, site), Relative(walked, site));
        Assert.All(unwound.Of(RecordKind.Alloc), e => Assert.False(e.Flags.HasFlag(RecordFlags.FramePointers)));
    }

    [Fact]
    public async Task ReallocChainsPublishTheFreeOfTheOldBlockBeforeTheNewBlock()
    {
        var result = await Run(CProgram.WithFramePointers);
        var chain = result.Events.Where(e => e.Source == EventSource.Realloc).ToList();
        // malloc(16) then 8 reallocs (32..4096): each realloc is a free of the old block, then the new block.
        Assert.Equal(16, chain.Count);
        var previous = AllocationsFrom(result, "site_realloc").Single(e => e.Source == EventSource.Malloc);
        Assert.Equal(16ul, previous.Size);
        var size = 32ul;
        for (var i = 0; i < chain.Count; i += 2)
        {
            Assert.Equal(RecordKind.Free, chain[i].Kind);
            Assert.Equal(previous.Address, chain[i].Address);
            Assert.Equal(RecordKind.Alloc, chain[i + 1].Kind);
            Assert.Equal(size, chain[i + 1].Size);
            Assert.True(chain[i].Position < chain[i + 1].Position);
            Assert.Equal("site_realloc", result.Functions.NameOf(chain[i + 1].Frames[0]));
            previous = chain[i + 1];
            size *= 2;
        }
    }

    [Fact]
    public async Task AlignedAllocationsCarryTheirAlignment()
    {
        var result = await Run(CProgram.WithFramePointers);
        var aligned = AllocationsFrom(result, "site_aligned");
        var expected = new (EventSource, ulong, uint)[]
        {
            (EventSource.PosixMemalign, 100, 64), (EventSource.AlignedAlloc, 256, 128), (EventSource.Memalign, 300, 256),
            (EventSource.Valloc, 500, 4096), (EventSource.Pvalloc, 600, 4096),
        };
        Assert.Equal(expected, aligned.Select(e => (e.Source, e.Size, e.Alignment)).ToArray());
        Assert.All(aligned, e => Assert.Equal(0ul, e.Address % e.Alignment));
    }

    [Fact]
    public async Task AStackSentOnceTravelsAsItsHashAfterwards()
    {
        var result = await Run(CProgram.WithFramePointers);
        var mallocs = AllocationsFrom(result, "site_malloc");
        Assert.True(mallocs[0].Flags.HasFlag(RecordFlags.FullStack));
        Assert.All(mallocs.Skip(1), e => Assert.False(e.Flags.HasFlag(RecordFlags.FullStack), $"{e} was sent in full again"));
        Assert.All(mallocs, e => Assert.Equal(mallocs[0].StackHash, e.StackHash));
        Assert.All(mallocs, e => Assert.Equal(mallocs[0].Frames, e.Frames));

        var uncached = await Run(CProgram.WithFramePointers, new HookedRunOptions { RingOptions = RingOptions.NoStackCache });
        Assert.All(AllocationsFrom(uncached, "site_malloc"), e => Assert.True(e.Flags.HasFlag(RecordFlags.FullStack)));
    }

    [Fact]
    public async Task FreesOfTheProgramAreRecordedWithTheirAddresses()
    {
        var result = await Run(CProgram.WithFramePointers);
        var mallocs = AllocationsFrom(result, "site_malloc");
        var freed = result.Of(RecordKind.Free).Select(e => e.Address).ToHashSet();
        Assert.All(mallocs.Take(50), e => Assert.Contains(e.Address, freed));
        Assert.All(mallocs.Skip(50), e => Assert.DoesNotContain(e.Address, freed));
        var attach = Assert.Single(result.Of(RecordKind.Attach));
        Assert.Equal(1u, attach.Generation);
        Assert.Equal(attach, result.Events[0]);
        Assert.Equal((ExitKind.MainReturn, 0), (result.Marks.ExitKind, result.Marks.ExitStatus));
    }
}
