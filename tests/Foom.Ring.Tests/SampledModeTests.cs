using Foom.Ring.Tests.Support;
using Foom.Testing;

namespace Foom.Ring.Tests;

/// <summary>
/// The hook in sampled mode (docs/hook.md, "Sampled mode"), on a real program through the real
/// ring: a sample of the allocations reaches the ring, and of the frees only those of sampled
/// blocks, so a block never sampled costs no ring write at either end.
/// </summary>
public class SampledModeTests
{
    [Fact]
    public async Task OnlyASampleOfTheBlocksAndOnlyTheFreesOfSampledBlocksReachTheRing()
    {
        // 200 000 blocks of 16 to 1024 bytes allocated and freed (about 104 MB), then 1000 kept.
        const int rounds = 200_000;
        var binary = CProgram.Build("alloc_loop.c");
        var result = await HookedRun.RunAsync(binary, [rounds.ToString(System.Globalization.CultureInfo.InvariantCulture), "1000"],
            new HookedRunOptions { SampleBytes = 64 * 1024 });
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("done", result.Output);

        // One sample per 64 KiB of some 104 MB: about 1600 (the program's own start-up adds a few).
        var allocations = result.Of(RecordKind.Alloc).ToList();
        Assert.InRange(allocations.Count, 800, 4000);

        // Every published free is of a block the ring saw allocated and not yet freed: the
        // unsampled blocks' frees never reached it. And the loop's sampled blocks were all freed.
        var live = new HashSet<ulong>();
        var frees = 0;
        foreach (var e in result.Events)
        {
            if (e.Kind == RecordKind.Alloc) Assert.True(live.Add(e.Address), $"{e}: allocated twice without a free between");
            else if (e.Kind == RecordKind.Free)
            {
                Assert.True(live.Remove(e.Address), $"{e}: the free of a block that was never sampled reached the ring");
                frees++;
            }
        }
        Assert.InRange(frees, allocations.Count - live.Count, allocations.Count);
        Assert.True(live.Count < 200, $"{live.Count} sampled blocks still live at exit: the loop's were all freed, and 1000 × 64 B kept is about one sample");
        Assert.Equal(0ul, result.Counters.DroppedEvents);
    }
}
