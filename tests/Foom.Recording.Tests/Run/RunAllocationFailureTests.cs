using Foom.Recording.Tests.Support;
using Foom.Storage.Sessions;
using Foom.Testing;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// `foom run` on programs whose allocations fail under their own RLIMIT_AS: the death is a memory
/// death by allocation failure (rule 3b), and the session keeps the failures.
/// </summary>
public sealed class RunAllocationFailureTests : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task ACppProgramDyingOfBadAllocIsAForegroundOomByAllocationFailure()
    {
        var program = CProgram.Build("bad_alloc.cpp");
        var result = await _foom.RunAsync("run", "--app", "badalloc", "--", program);
        Assert.Equal(134, result.ExitCode);
        var end = _foom.OnlySession("badalloc").End!;
        Assert.Equal(("foreground_oom", "allocation_failed", 6), (end.ExitReason, end.Mechanism, end.Signal));
        Assert.Contains(end.Evidence, line => line.StartsWith("an allocation of 16.0 MiB (16777216 bytes) failed for want of memory", StringComparison.Ordinal));
        AssertFailuresKept("badalloc", 16 << 20);
    }

    [Fact]
    public async Task APythonMemoryErrorIsAForegroundOomByAllocationFailure()
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: .ci/run installs python3");
        const string script = """
            import resource
            with open("/proc/self/status") as status:
                used = next(int(l.split()[1]) for l in status if l.startswith("VmSize:")) * 1024
            limit = used + (256 << 20)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            held = []
            while True:
                held.append(bytearray(16 << 20))
            """;
        var result = await _foom.RunAsync("run", "--app", "memoryerror", "--", Python, "-c", script);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("MemoryError", result.Errors);
        var end = _foom.OnlySession("memoryerror").End!;
        Assert.Equal(("foreground_oom", "allocation_failed"), (end.ExitReason, end.Mechanism));
        AssertFailuresKept("memoryerror", 16 << 20);
    }

    [Fact]
    public async Task ACProgramThatExitsZeroAfterAFailedMallocIsAnExit()
    {
        var program = CProgram.Build("alloc_fail.c");
        var result = await _foom.RunAsync("run", "--app", "allocfail", "--", program);
        Assert.Equal(0, result.ExitCode);
        var end = _foom.OnlySession("allocfail").End!;
        Assert.Equal(("exit", (string?)null), (end.ExitReason, end.Mechanism));
        AssertFailuresKept("allocfail", 256 << 20);
    }

    /// <summary>The session's failure log holds a failure of at least <paramref name="size"/> bytes with a stack.</summary>
    private void AssertFailuresKept(string app, long size)
    {
        var directory = Assert.Single(_foom.Sessions(app));
        using var reader = Foom.Storage.SessionReader.Open(directory);
        using var log = reader.OpenLog<FailedAllocationRecord>(FailedAllocationLog.Name, FailedAllocationLog.TypeTag);
        Assert.True(log.TotalAppended >= 1);
        Assert.Contains(log.ReadAll(), failure => failure.Size >= size && failure.StackId != 0);
    }

    public void Dispose() => _foom.Dispose();
}
