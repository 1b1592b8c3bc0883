using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

public class ThreadOrderTests
{
    [Fact]
    public async Task AFreeOnOneThreadComesBeforeTheAllocationThatReusesItsAddressOnAnother()
    {
        var binary = CProgram.Build("threads_handoff.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, ["20000"], new HookedRunOptions
        {
            // One arena and no per-thread cache: a block freed on one thread is soon malloc'ed on the other.
            Environment = new Dictionary<string, string>
            {
                ["MALLOC_ARENA_MAX"] = "1",
                ["GLIBC_TUNABLES"] = "glibc.malloc.tcache_count=0",
            },
        });
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Equal(0ul, result.Counters.DroppedEvents);

        var live = new Dictionary<ulong, uint>();          // address → thread that allocated it
        var freedBy = new Dictionary<ulong, uint>();       // address → thread that freed it last
        var everAllocated = new HashSet<ulong>();
        var crossThreadReuses = 0;
        var handedOver = 0;
        foreach (var e in result.Events)
        {
            if (e.Kind == RecordKind.Alloc)
            {
                Assert.False(live.ContainsKey(e.Address), $"0x{e.Address:x} allocated at {e.Position} while still live");
                if (freedBy.TryGetValue(e.Address, out var freer) && freer != e.ThreadId) crossThreadReuses++;
                live[e.Address] = e.ThreadId;
                everAllocated.Add(e.Address);
            }
            else if (e.Kind == RecordKind.Free)
            {
                if (everAllocated.Contains(e.Address))
                    Assert.True(live.ContainsKey(e.Address), $"0x{e.Address:x} freed at {e.Position} but not live");
                if (live.Remove(e.Address, out var allocator) && allocator != e.ThreadId) handedOver++;
                freedBy[e.Address] = e.ThreadId;
            }
        }
        // The test means something only if addresses really changed hands between threads.
        Assert.Equal(20000, handedOver);
        Assert.True(crossThreadReuses >= 1000, $"only {crossThreadReuses} addresses freed on one thread were reused on another");
    }
}
