using Foom.Recording.Tests.Support;
using Foom.Ring;

namespace Foom.Recording.Tests.Ring;

/// <summary>
/// Issue 13: an allocation that fails for want of memory is an event of its own, with the size
/// asked for and the stack, in C, C++ (std::bad_alloc) and Python (MemoryError), each under an
/// address space limit (RLIMIT_AS) that the program sets on itself.
/// </summary>
public class FailedAllocationTests
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task MallocCallocAndMmapFailuresAreEventsWithTheirSizeAndStack()
    {
        var binary = CProgram.Build("alloc_fail.c", AllocationSiteTests.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, []);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("done", result.Output);
        foreach (var (site, source, size) in new[] { ("ask_malloc", EventSource.Malloc, 256ul << 20), ("ask_calloc", EventSource.Calloc, 256ul << 20), ("ask_mmap", EventSource.Mmap, 256ul << 20) })
        {
            Assert.Contains($"failed {site} {size}", result.Output);
            var failed = Assert.Single(result.Of(RecordKind.AllocFailed), e => e.Source == source);
            Assert.Equal(size, failed.Size);
            Assert.True(failed.StackKnown, failed.ToString());
            Assert.Contains(failed.Frames, f => result.Functions.NameOf(f) == site);
        }
        // A failure is no block: nothing live was published for it.
        Assert.DoesNotContain(result.Of(RecordKind.Alloc), e => e.Size == 256ul << 20);
    }

    [Fact]
    public async Task ACppProgramThatDiesOfBadAllocLeavesTheFailedNewWithItsStack()
    {
        var binary = CProgram.Build("bad_alloc.cpp", AllocationSiteTests.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, []);
        Assert.True(result.ExitCode == 128 + 6 || result.ExitCode == -6 || result.ExitCode == 134, $"not a SIGABRT death: {result.Describe()}");
        Assert.Contains("hoarding", result.Output);
        var failed = result.Of(RecordKind.AllocFailed).ToList();
        var chunk = Assert.Single(failed, e => e.Size == 16ul << 20);
        Assert.Equal(EventSource.Malloc, chunk.Source);
        // operator new[] sits between the program and malloc (libstdc++, no frame pointers).
        Assert.Contains(chunk.Frames, f => result.Functions.NameOf(f) == "hoard_chunk");
        Assert.Equal(6, result.Marks.CrashSignal);
    }

    [Fact]
    public async Task APythonMemoryErrorLeavesTheFailedAllocationWithItsStack()
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: .ci/run installs python3");
        const string script = """
            import resource
            def usage():
                with open("/proc/self/status") as status:
                    return next(int(l.split()[1]) for l in status if l.startswith("VmSize:")) * 1024
            limit = usage() + (256 << 20)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            held = []
            try:
                while True:
                    held.append(bytearray(16 << 20))
            except MemoryError:
                held.clear()
                print("MemoryError")
                raise
            """;
        var result = await HookedRun.RunAsync(Python, ["-c", script]);
        Assert.True(result.ExitCode == 1, result.Describe());
        Assert.Contains("MemoryError", result.Output);
        var failed = result.Of(RecordKind.AllocFailed).Where(e => e.Size >= 16ul << 20 && e.Size < (16ul << 20) + 4096).ToList();
        Assert.NotEmpty(failed);
        var python = result.Of(RecordKind.ModuleLoad).Single(m => m.ModuleFlags.HasFlag(ModuleFlags.MainProgram));
        Assert.All(failed, e => Assert.True(e.StackKnown && e.Frames.Length >= 8, e.ToString()));
        Assert.Contains(failed[0].Frames, f => f >= python.Start && f < python.Start + python.Size);
    }
}
