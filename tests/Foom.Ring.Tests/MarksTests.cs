using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>The marks area: what the program says through foom.h, and how it ended.</summary>
public class MarksTests
{
    private static Task<HookedResult> Run(string mode, HookedRunOptions? options = null) =>
        HookedRun.RunAsync(CProgram.Build("marks.c", CProgram.WithFramePointers), [mode], options);

    [Fact]
    public async Task StateSceneHeartbeatAndExitStatusAreInTheHeader()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var result = await Run("state");
        Assert.True(result.ExitCode == 3, result.Describe());
        Assert.Contains("bad state -1", result.Output);
        var marks = result.Marks;
        Assert.Equal(AppState.Background, marks.State);
        Assert.Equal("ChatRoom", marks.Scene);
        Assert.True(marks.Heartbeat >= before && marks.StateTime >= before && marks.SceneTime >= before);
        Assert.Equal((ExitKind.Call, 3), (marks.ExitKind, marks.ExitStatus));
        Assert.True(marks.ExitTime >= marks.Heartbeat);
        Assert.Equal((0, 0), (marks.CrashSignal, marks.QuitSignal));
    }

    [Fact]
    public async Task AnImmediateExitIsMarked()
    {
        var result = await Run("immediate");
        Assert.Equal(5, result.ExitCode);
        Assert.Equal((ExitKind.Immediate, 5), (result.Marks.ExitKind, result.Marks.ExitStatus));
    }

    [Theory]
    [InlineData("crash", 11)]
    [InlineData("abort", 6)]
    public async Task ACrashIsMarkedAndTheProcessStillDiesOfItsSignal(string mode, int signal)
    {
        var result = await Run(mode);
        Assert.True(result.ExitCode == 128 + signal, result.Describe());
        Assert.Equal(signal, result.Marks.CrashSignal);
        Assert.NotNull(result.Marks.CrashTime);
        Assert.Equal(ExitKind.None, result.Marks.ExitKind);
        if (signal == 11) Assert.Equal(16ul, result.Marks.CrashAddress);
    }

    [Fact]
    public async Task AQuitSignalIsMarkedWithItsSender()
    {
        var result = await Run("quit");
        Assert.True(result.ExitCode == 128 + 15, result.Describe());
        Assert.Equal(15, result.Marks.QuitSignal);
        Assert.Equal(result.Marks.TargetPid, result.Marks.QuitSenderPid);
        Assert.Equal(0, result.Marks.CrashSignal);
    }

    [Fact]
    public async Task TheHooksHandlersAreInvisibleAndGiveWayToTheProgramsOwn()
    {
        var result = await Run("handlers");
        Assert.True(result.ExitCode == 9, result.Describe());
        Assert.Contains("sigint default", result.Output);
        Assert.Contains("sigterm default", result.Output);
        Assert.Contains("own handler", result.Output);
        Assert.Equal(0, result.Marks.CrashSignal);
        Assert.Equal((ExitKind.Immediate, 9), (result.Marks.ExitKind, result.Marks.ExitStatus));
    }

    [Fact]
    public async Task AWarningRaisedByTheRecorderReachesTheDescriptorTheCallbackAndLastWarning()
    {
        var result = await Run("warnings", new HookedRunOptions
        {
            WhileRunning = async target =>
            {
                await target.LineAsync(l => l.StartsWith("ready ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
                target.Ring.RaiseWarning(footprintBytes: 123456789, limitBytes: 987654321);
            },
        });
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("warning read 1 callbacks 1 count 1 footprint 123456789 limit 987654321", result.Output);
        Assert.Equal((1u, 123456789ul, 987654321ul), (result.Marks.Warnings, result.Marks.WarningFootprint, result.Marks.WarningLimit));
    }

    [Fact]
    public async Task WithoutARingTheApiDoesNothingAndSucceeds()
    {
        var binary = CProgram.Build("marks.c", CProgram.WithFramePointers);
        var start = new System.Diagnostics.ProcessStartInfo(binary, "state") { RedirectStandardOutput = true };
        start.Environment["LD_PRELOAD"] = HookLibrary.Path;
        start.Environment.Remove("FOOM_RING");
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(3, process.ExitCode);
        Assert.Contains("bad state -1", output);
    }
}
