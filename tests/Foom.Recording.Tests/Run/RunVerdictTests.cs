using Foom.Recording.Tests.Support;
using Foom.Testing;
using Foom.Interop;

namespace Foom.Recording.Tests.Run;

/// <summary>`foom run` on real programs: its status mirrors the program's, and the session says why it ended.</summary>
public sealed class RunVerdictTests : IDisposable
{
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task AnExitStatusIsPassedOnAndTheVerdictIsExit()
    {
        var program = CProgram.Build("signals.c");
        var result = await _foom.RunAsync("run", "--app", "exits", "--", program, "exit", "3");
        Assert.Equal(3, result.ExitCode);
        var end = _foom.OnlySession("exits").End!;
        Assert.Equal(("exit", "observed", 3), (end.ExitReason, end.How, end.ExitStatus));
        Assert.Contains("foom: exit status 3: exit (observed)", result.Errors);
    }

    [Fact]
    public async Task ACrashIsPassedOnAs128PlusTheSignalAndTheVerdictIsCrash()
    {
        var program = CProgram.Build("signals.c");
        var result = await _foom.RunAsync("run", "--app", "crashes", "--", program, "raise", "11");
        Assert.Equal(139, result.ExitCode);
        var end = _foom.OnlySession("crashes").End!;
        Assert.Equal(("crash", 11), (end.ExitReason, end.Signal));
    }

    [Fact]
    public async Task TheProgramsOutputIsUntouchedAndFoomSpeaksOnceOnStderr()
    {
        var program = CProgram.Build("hello.c");
        var result = await _foom.RunAsync("run", "--app", "hello", "--", program);
        Assert.Equal("hello from a test program\n", result.Output);
        Assert.Single(result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => line.StartsWith("foom: "));
        Assert.Contains("session " + _foom.Sessions("hello")[0], result.Errors);
    }

    [Fact]
    public async Task SigtermFromOutsideIsAUserQuit()
    {
        var program = CProgram.Build("signals.c");
        using var foom = _foom.Start("run", "--app", "quits", "--", program, "wait");
        Assert.Equal("ready", await foom.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
        var pid = (await _foom.RunningSession("quits")).Pid;
        Assert.Equal(0, Processes.kill(pid, 15));
        await foom.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(143, foom.ExitCode);
        var end = _foom.OnlySession("quits").End!;
        Assert.Equal(("user_quit", "observed"), (end.ExitReason, end.How));
    }

    [Fact]
    public async Task SigtermSentToFoomIsPassedOnToTheProgram()
    {
        var program = CProgram.Build("signals.c");
        using var foom = _foom.Start("run", "--app", "forwarded", "--", program, "wait");
        Assert.Equal("ready", await foom.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
        await _foom.RunningSession("forwarded");
        Assert.Equal(0, Processes.kill(foom.Id, 15));
        await foom.WaitForExitAsync(TestContext.Current.CancellationToken);
        var errors = await foom.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(foom.ExitCode == 143, errors);
        var end = _foom.OnlySession("forwarded").End;
        Assert.True(end is not null, $"foom ended without recording the end of the run:\n{errors}");
        Assert.Equal("user_quit", end.ExitReason);
        Assert.Contains(end.Evidence, line => line.Contains("SIGTERM"));
    }

    public void Dispose() => _foom.Dispose();
}
