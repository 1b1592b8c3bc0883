using Foom.Recording.Tests.Support;
using Foom.Testing;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// When the recorder dies with the program (both SIGKILLed, as a global OOM or a power cut would),
/// the next `foom run` of the app infers why the run ended, by elimination.
/// </summary>
public sealed class RunInferenceTests : IDisposable
{
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task ARunKilledNearItsLimitWithItsRecorderIsInferredAForegroundOomAtTheNextLaunch()
    {
        var program = CProgram.Build("hoard.c");
        using (var foom = _foom.Start("run", "--limit", "64M", "--app", "both-killed", "--", program, "56", "256", "300"))
        {
            Assert.StartsWith("held", await foom.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
            var session = Assert.Single(_foom.Sessions("both-killed"));
            await _foom.RunningSession("both-killed");
            // Wait until the recorder has sampled the footprint near the limit, then kill both at once.
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (( _foom.Info(session).LastFootprintBytes ?? 0) < 50L << 20 && DateTime.UtcNow < deadline) await Task.Delay(100, TestContext.Current.CancellationToken);
            var pid = _foom.Info(session).Pid;
            Posix.Kill(foom.Id, 9);
            Posix.Kill(pid, 9);
            await foom.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        Assert.Null(_foom.Info(_foom.Sessions("both-killed")[0]).End);

        // The same program again (another one would be an app upgrade, which the rules check first).
        var next = await _foom.RunAsync("run", "--app", "both-killed", "--", program, "1");
        Assert.True(next.ExitCode == 0, next.Describe());
        var sessions = _foom.Sessions("both-killed");
        Assert.Equal(2, sessions.Count);
        var end = _foom.Info(sessions[0]).End!;
        Assert.Equal(("foreground_oom", "inferred"), (end.ExitReason, end.How));
        Assert.Contains(end.Evidence, line => line.Contains("no end record"));
        Assert.Equal(_foom.Info(sessions[1]).SessionId, end.InferredBySession);
    }

    public void Dispose() => _foom.Dispose();
}
