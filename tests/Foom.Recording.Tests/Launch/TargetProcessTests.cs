using Foom.Recorder.Launch;
using Foom.Testing;

namespace Foom.Recording.Tests.Launch;

public class TargetProcessTests
{
    private static readonly IReadOnlyDictionary<string, string> Environment =
        System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");

    private static async Task<WaitStatus> RunToEnd(params string[] arguments)
    {
        var binary = CProgram.Build("signals.c");
        var target = TargetProcess.Start(binary, [binary, .. arguments], Environment);
        return await target.Exited.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(137)]
    public async Task AnExitCodeIsAnExitEvenWhenItLooksLikeASignal(int code)
    {
        var status = await RunToEnd("exit", code.ToString());
        Assert.True(status.Exited);
        Assert.False(status.Signaled);
        Assert.Equal(code, status.ExitCode);
        Assert.Equal(code, status.ShellStatus);
    }

    [Theory]
    [InlineData(6)]  // SIGABRT
    [InlineData(11)] // SIGSEGV
    [InlineData(15)] // SIGTERM
    public async Task ASignalDeathIsReportedAsTheSignal(int signal)
    {
        var status = await RunToEnd("raise", signal.ToString());
        Assert.True(status.Signaled);
        Assert.Equal(signal, status.TermSignal);
        Assert.Equal(128 + signal, status.ShellStatus);
        Assert.Contains(SignalNames.Name(signal), status.ToString());
    }

    [Fact]
    public async Task SignalReachesARunningProgramAndNotAfterItWasReaped()
    {
        var binary = CProgram.Build("signals.c");
        var target = TargetProcess.Start(binary, [binary, "wait"], Environment);
        Assert.True(target.Signal(9));
        var status = await target.Exited.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.Equal(9, status.TermSignal);
        Assert.False(target.Signal(9));
    }

    [Fact]
    public async Task TheProgramGetsExactlyTheEnvironmentGiven()
    {
        var binary = CProgram.Build("signals.c");
        var output = Path.GetTempFileName();
        try
        {
            var shell = TargetProcess.Start("/bin/sh", ["sh", "-c", $"\"{binary}\" env FOOM_PROBE > {output}"],
                new Dictionary<string, string> { ["FOOM_PROBE"] = "ring-path", ["PATH"] = "/usr/bin:/bin" });
            await shell.Exited.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            Assert.Equal("ring-path", File.ReadAllText(output).Trim());
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public async Task TheProgramStartsWithNoSignalBlockedOrIgnored()
    {
        var binary = CProgram.Build("signals.c");
        var output = Path.GetTempFileName();
        try
        {
            var shell = TargetProcess.Start("/bin/sh", ["sh", "-c", $"\"{binary}\" mask > {output}"],
                new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" });
            await shell.Exited.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            Assert.Equal("blocked=0 ignored=0", File.ReadAllText(output).Trim());
        }
        finally
        {
            File.Delete(output);
        }
    }
}
