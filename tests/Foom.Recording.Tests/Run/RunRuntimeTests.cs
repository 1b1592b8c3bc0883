using Foom.Testing;
using Foom.Storage;

namespace Foom.Recording.Tests.Run;

/// <summary>`foom run` records interpreted and managed programs too, not only C.</summary>
public sealed class RunRuntimeTests : IDisposable
{
    private readonly FoomCli _foom = new();

    private (long Bytes, long Count) Live(string appId)
    {
        using var reader = SessionTables.Open(Assert.Single(_foom.Sessions(appId)));
        return (reader.Live.HeapBytes + reader.Live.MappingBytes, reader.Live.HeapCount + reader.Live.MappingCount);
    }

    [Fact]
    public async Task APythonProgramsLiveObjectsAreRecorded()
    {
        var result = await _foom.RunAsync("run", "--app", "python", "--", "python3", "-c",
            // os._exit skips the interpreter's finalization, which would free every object first.
            "import os; kept = [bytearray(1 << 20) for _ in range(40)]; print(len(kept), flush=True); os._exit(0)");
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Equal("40\n", result.Output);
        var (bytes, count) = Live("python");
        Assert.True(bytes >= 40L << 20, $"only {bytes} live bytes recorded for 40 MiB of bytearrays");
        Assert.True(count > 1000, $"only {count} live blocks: the interpreter's own allocations are missing");
    }

    [Fact]
    public async Task ADotnetProgramRunsUnderTheHookAndItsMemoryIsRecorded()
    {
        var result = await _foom.RunAsync("run", "--app", "dotnet-help", "--", "dotnet", FoomCli.Dll, "--help");
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("Usage:", result.Output);
        var (bytes, count) = Live("dotnet-help");
        Assert.True(count > 100 && bytes > 1 << 20, $"{count} blocks, {bytes} bytes: the runtime's allocations were not recorded");
    }

    public void Dispose() => _foom.Dispose();
}
