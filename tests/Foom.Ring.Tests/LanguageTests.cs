using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

public class LanguageTests
{
    [Fact]
    public async Task CppNewAndDeleteAreRecordedAndExceptionsStillUnwind()
    {
        var binary = CProgram.Build("cpp_new.cpp", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, []);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("caught thrown through the hook", result.Output);
        Assert.Contains("done", result.Output);
        var array = Assert.Single(result.Of(RecordKind.Alloc), e => e.Size == 12345);
        // operator new[] sits between the program and malloc (libstdc++, no frame pointers).
        Assert.Contains(array.Frames, f => result.Functions.NameOf(f) == "make_array");
        var threaded = Assert.Single(result.Of(RecordKind.Alloc), e => e.Size == 23456);
        Assert.Contains(threaded.Frames, f => result.Functions.NameOf(f) == "in_thread");
        Assert.NotEqual(array.ThreadId, threaded.ThreadId);
        Assert.Contains(result.Of(RecordKind.Free), e => e.Address == threaded.Address && e.ThreadId == threaded.ThreadId);
        // The exception object and the vector were allocated and freed through the hook too.
        Assert.Contains(result.Of(RecordKind.Alloc), e => e.Size == 4000);
    }

    [Fact]
    public async Task AFailedReallocOrMremapPublishesTheOldBlockAgain()
    {
        var binary = CProgram.Build("realloc_fail.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, []);
        Assert.True(result.ExitCode == 0, result.Describe());
        var printed = result.Output.Split('\n').Select(l => l.Split(' ')).Where(p => p.Length == 2 && p[1].StartsWith("0x", StringComparison.Ordinal))
            .ToDictionary(p => p[0], p => Convert.ToUInt64(p[1], 16));

        var block = printed["block"];
        var released = Assert.Single(result.Of(RecordKind.Free), e => e.Address == block);
        Assert.Equal(EventSource.Realloc, released.Source);
        var restored = Assert.Single(result.Of(RecordKind.Alloc), e => e.Address == block && e.Source == EventSource.Realloc);
        Assert.True(restored.Flags.HasFlag(RecordFlags.Restored));
        Assert.InRange(restored.Size, 100ul, 200ul);
        Assert.True(released.Position < restored.Position);

        var mapping = printed["mapping"];
        var unmapped = Assert.Single(result.Of(RecordKind.Unmap), e => e.Address == mapping);
        var remapped = Assert.Single(result.Of(RecordKind.Map), e => e.Address == mapping && e.Source == EventSource.Mremap);
        Assert.True(remapped.Flags.HasFlag(RecordFlags.Restored));
        Assert.Equal((4096ul, MapKind.Remap, mapping), (remapped.Size, remapped.MapKind, remapped.OldAddress));
        Assert.True(unmapped.Position < remapped.Position);
    }
}
