using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>Interpreters and runtimes under the hook: they run as they would without it.</summary>
public class RuntimeTests
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task APythonProgramRunsUnharmedAndItsAllocationsAreRecorded()
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: .ci/run installs python3");
        const string script = """
            import signal, os
            print("sigint", signal.getsignal(signal.SIGINT).__name__)
            try:
                os.kill(os.getpid(), signal.SIGINT)
                import time; time.sleep(5)
            except KeyboardInterrupt:
                print("interrupted")
            blocks = [bytearray(50_000_000)]
            print("sum", sum(len(b) for b in blocks))
            """;
        var result = await HookedRun.RunAsync(Python, ["-c", script]);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("sigint default_int_handler", result.Output);
        Assert.Contains("interrupted", result.Output);
        Assert.Contains("sum 50000000", result.Output);
        var big = result.Of(RecordKind.Alloc).Where(e => e.Size >= 50_000_000 && e.Size < 50_001_000).ToList();
        Assert.NotEmpty(big);
        // Debian's python3 has no frame pointers: its stacks come from the unwind tables, deep into the interpreter.
        Assert.All(big, e => Assert.True(e.Flags.HasFlag(RecordFlags.UnwindTables) && e.Frames.Length >= 8, e.ToString()));
        var python = result.Of(RecordKind.ModuleLoad).Single(m => m.ModuleFlags.HasFlag(ModuleFlags.MainProgram));
        Assert.Contains(big[0].Frames, f => f >= python.Start && f < python.Start + python.Size);
        Assert.Equal(0, result.UnknownStacks);
        Assert.Equal(0ul, result.Counters.DroppedEvents);
    }

    [Fact]
    public async Task ADotnetProgramRunsUnharmedAndItsNativeAllocationIsRecorded()
    {
        var drain = Path.Combine(AppContext.BaseDirectory, "Foom.RingDrain.dll");
        var result = await HookedRun.RunAsync("dotnet", [drain, "allocate", "7777777"]);
        Assert.True(result.ExitCode == 42, result.Describe());
        Assert.Contains("allocated 7777777 native, 1000 managed", result.Output);
        var block = Assert.Single(result.Of(RecordKind.Alloc), e => e.Size == 7777777);
        Assert.True(block.StackKnown && block.Frames.Length > 0);
        Assert.Contains(result.Of(RecordKind.Free), e => e.Address == block.Address && e.Position > block.Position);
        Assert.Contains(result.Of(RecordKind.ModuleLoad), m => Path.GetFileName(m.Path) == "libcoreclr.so" && m.ModuleFlags.HasFlag(ModuleFlags.FramePointers));
        Assert.Contains(result.Of(RecordKind.Map), m => m.MapKind == MapKind.Anonymous);
        Assert.Equal(0, result.UnknownStacks);
    }
}
