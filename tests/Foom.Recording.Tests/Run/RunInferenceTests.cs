using Foom.Recording.Tests.Support;
using Foom.Storage.Sessions;
using Foom.Testing;
using Foom.Interop;

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
            Processes.kill(foom.Id, 9);
            Processes.kill(pid, 9);
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

    /// <summary>
    /// Issue 16, item 2: killed with its recorder between 75 % and 100 % of the limit, with no
    /// warning to rewrite session.json (--warn-at 1), a run is a memory death at the next launch,
    /// judged by the footprint log's last sample. Failed before inference read the log: "no
    /// footprint and limit were recorded", unknown, at every fill level.
    /// </summary>
    [Theory]
    [InlineData(76)]
    [InlineData(81)]
    [InlineData(86)]
    [InlineData(91)]
    public async Task ARunKilledWithItsRecorderAboveThreeQuartersOfItsLimitIsAMemoryDeathByItsFootprintLog(int hoardMiB)
    {
        const long limit = 100L << 20;
        var app = $"near-limit-{hoardMiB}";
        var program = CProgram.Build("hoard.c");
        long lastLogged;
        using (var foom = _foom.Start("run", "--limit", "100M", "--warn-at", "1", "--app", app, "--", program, $"{hoardMiB}", "256", "300"))
        {
            Assert.StartsWith("held", await foom.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
            var running = await _foom.RunningSession(app);
            var session = Assert.Single(_foom.Sessions(app));
            // Kill once the footprint log has a sample past three quarters of the limit.
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while ((lastLogged = FootprintLog.Summarize(session).Last?.Bytes ?? 0) < limit * 3 / 4)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the footprint log never passed 75 % of the limit: last sample {lastLogged} bytes");
                if (foom.HasExited) Assert.Fail($"foom run ended before the kill: {await foom.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken)}");
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
            Processes.kill(foom.Id, 9);
            Processes.kill(running.Pid, 9);
            await foom.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        Assert.InRange(lastLogged, limit * 3 / 4, limit - 1);
        Assert.Null(_foom.Info(_foom.Sessions(app)[0]).End);

        var next = await _foom.RunAsync("run", "--app", app, "--", program, "1");
        Assert.True(next.ExitCode == 0, next.Describe());
        var end = _foom.Info(_foom.Sessions(app)[0]).End!;
        Assert.True((end.ExitReason, end.How) == ("foreground_oom", "inferred"), string.Join("\n", end.Evidence));
        Assert.Contains(end.Evidence, line => line.Contains("% of the limit") && line.Contains("memory was critical"));
    }

    public void Dispose() => _foom.Dispose();
}
