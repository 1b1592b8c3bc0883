using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

public class EarlyAllocationTests
{
    [Fact]
    public async Task AllocationsInConstructorsAndTheirThreadsBeforeMainAreRecorded()
    {
        var binary = CProgram.Build("early.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, []);
        Assert.True(result.ExitCode == 0, result.Describe());
        var functions = result.Functions;
        RecordedEvent Sized(ulong size) => result.Of(RecordKind.Alloc).Single(e => e.Size == size);
        Assert.Equal("early_constructor", functions.NameOf(Sized(1234).Frames[0]));
        Assert.Equal("early_thread_main", functions.NameOf(Sized(2345).Frames[0]));
        Assert.Equal("main", functions.NameOf(Sized(3456).Frames[0]));
        Assert.NotEqual(Sized(1234).ThreadId, Sized(2345).ThreadId);
        Assert.True(Sized(1234).Position < Sized(2345).Position && Sized(2345).Position < Sized(3456).Position);
    }
}
