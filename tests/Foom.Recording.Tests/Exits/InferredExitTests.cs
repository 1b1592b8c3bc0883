using Foom.Recorder.Exits;
using Foom.Storage.Sessions;

namespace Foom.Recording.Tests.Exits;

/// <summary>
/// The inferred rules, in their order, and the false positives other SDKs' users reported
/// (docs/design.md), each a test.
/// </summary>
public class InferredExitTests
{
    private const long MiB = 1 << 20;
    private const long Start = 1_700_000_000_000;

    private static SessionInfo Session(long? lastFootprint = 20 * MiB, long limit = 128 * MiB) => new()
    {
        SessionId = "s1",
        AppId = "app",
        StartTime = Start,
        BootId = "boot-a",
        KernelRelease = "6.1.0",
        MainBuildId = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        MainBinary = "/opt/app/bin/app",
        Limit = new MemoryLimit { Bytes = limit, Source = "cgroup-v1", Cgroup = "/foom-app" },
        LastFootprintBytes = lastFootprint,
        LastFootprintTime = Start + 60_000,
    };

    private static LaunchContext Same(SessionInfo session) =>
        new("s2", session.BootId, session.KernelRelease, session.MainBuildId, Start + 120_000);

    private static AppMarks Foreground(long? heartbeat = Start + 59_500) =>
        new() { State = AppRunState.Foreground, StateTimeMilliseconds = Start + 1_000, LastHeartbeatMilliseconds = heartbeat };

    private static ExitVerdict Infer(SessionInfo session, AppMarks? marks, LaunchContext? launch = null) =>
        ExitClassifier.Infer(session, marks, launch ?? Same(session));

    [Fact]
    public void EveryInferredVerdictSaysHowItWasReached()
    {
        var verdict = Infer(Session(), Foreground());
        Assert.Equal(ExitHow.Inferred, verdict.How);
        Assert.Equal("no end record: the recorder died with the program; inferred at the launch of session s2", verdict.Evidence[0]);
    }

    [Fact]
    public void ADebuggerComesFirst()
    {
        var marks = Foreground() with { DebuggerSeen = true, CrashSignal = 11 };
        Assert.Equal(ExitReason.Debugger, Infer(Session(), marks).Reason);
        var session = Session();
        session.DebuggerSeen = true;
        Assert.Equal(ExitReason.Debugger, Infer(session, Foreground()).Reason);
    }

    [Fact]
    public void ACrashMarkerIsACrashEvenAfterAReboot()
    {
        var marks = Foreground() with { CrashSignal = 11, CrashTimeMilliseconds = Start + 30_000, CrashAddress = 0xdead };
        var verdict = Infer(Session(), marks, Same(Session()) with { BootId = "boot-b" });
        Assert.Equal(ExitReason.Crash, verdict.Reason);
        Assert.Contains("the hook caught SIGSEGV (11) at 2023-11-14 22:13:50.000 UTC, address 0xdead", verdict.Evidence);
    }

    [Fact]
    public void AQuitMarkerIsAUserQuit()
    {
        var verdict = Infer(Session(), Foreground() with { QuitSignal = 15, QuitSenderPid = 999 });
        Assert.Equal(ExitReason.UserQuit, verdict.Reason);
        Assert.Contains(verdict.Evidence, line => line.StartsWith("the hook saw SIGTERM (15) arrive from pid 999", StringComparison.Ordinal));
    }

    [Fact]
    public void ExitZeroIsAnExitNotAnOomEvenAtTheLimit()
    {
        // Sentry #3266: exit(0) reported as an OOM.
        var verdict = Infer(Session(lastFootprint: 127 * MiB), Foreground() with { Exit = new ExitMark("exit()", 0, Start + 61_000) });
        Assert.Equal(ExitReason.Exit, verdict.Reason);
        Assert.Contains("the hook saw exit() with status 0 at 2023-11-14 22:14:21.000 UTC", verdict.Evidence);
    }

    [Fact]
    public void AChangedBuildIdIsAnUpgradeBeforeAnyOsChange()
    {
        var launch = Same(Session()) with { MainBuildId = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", KernelRelease = "6.2.0", BootId = "boot-b" };
        var verdict = Infer(Session(lastFootprint: 127 * MiB), Foreground(), launch);
        Assert.Equal(ExitReason.AppUpgraded, verdict.Reason);
        Assert.Contains("the main binary changed: build-id aaaaaaaaaaaaaaaa… then bbbbbbbbbbbbbbbb…", verdict.Evidence);
    }

    [Fact]
    public void AReinstallOfTheSameBuildIsNotAnUpgrade()
    {
        // Bugsnag/Sentry #1648: a reinstall changed the vendor id. Foom's identity is the build-id, not the path.
        var session = Session(lastFootprint: 127 * MiB);
        var verdict = Infer(session, Foreground(), Same(session));
        Assert.NotEqual(ExitReason.AppUpgraded, verdict.Reason);
        Assert.Equal(ExitReason.ForegroundOom, verdict.Reason);
    }

    [Fact]
    public void AChangedKernelIsAnOsUpgradeBeforeTheReboot()
    {
        var verdict = Infer(Session(), Foreground(), Same(Session()) with { KernelRelease = "6.2.0", BootId = "boot-b" });
        Assert.Equal(ExitReason.OsUpgraded, verdict.Reason);
        Assert.Contains("the kernel changed: 6.1.0 then 6.2.0", verdict.Evidence);
    }

    [Fact]
    public void ARebootIsNotAnOomEvenAtTheLimit()
    {
        // Sentry #3352: reboots reported as OOM.
        var verdict = Infer(Session(lastFootprint: 127 * MiB), Foreground(), Same(Session()) with { BootId = "boot-b" });
        Assert.Equal(ExitReason.OsReboot, verdict.Reason);
        Assert.Contains("the machine rebooted: boot_id boot-a then boot-b", verdict.Evidence);
    }

    [Fact]
    public void FactsAnOldSessionDidNotRecordChangeNothing()
    {
        var session = Session(lastFootprint: 127 * MiB);
        session.BootId = null;
        session.MainBuildId = null;
        Assert.Equal(ExitReason.ForegroundOom, Infer(session, Foreground(), Same(Session()) with { BootId = "boot-b" }).Reason);
    }

    [Theory]
    [InlineData(AppRunState.Background, ExitReason.BackgroundOom)]
    [InlineData(AppRunState.Suspended, ExitReason.SuspendedOom)]
    public void TheLastStateNamesTheOomOfAnAppNotInTheForeground(AppRunState state, ExitReason expected)
    {
        var verdict = Infer(Session(lastFootprint: 5 * MiB), Foreground() with { State = state, Scene = "Feed" });
        Assert.Equal(expected, verdict.Reason);
        Assert.Contains(verdict.Evidence, line => line.StartsWith($"state {state.ToString().ToLowerInvariant()} since", StringComparison.Ordinal) && line.EndsWith("scene Feed", StringComparison.Ordinal));
    }

    [Fact]
    public void AStalledHeartbeatIsAWatchdogNotAnOom()
    {
        // Sentry #1645 (a hung app killed by the user) and Bugsnag #539 (watchdog kills counted as OOM).
        var verdict = Infer(Session(lastFootprint: 127 * MiB), Foreground(heartbeat: Start + 40_000));
        Assert.Equal(ExitReason.Watchdog, verdict.Reason);
        Assert.Contains(verdict.Evidence, line => line.StartsWith("the main loop had stalled", StringComparison.Ordinal) && line.Contains("20 s later"));
    }

    [Fact]
    public void TheWatchdogSettingOfTheRunIsTheStallThreshold()
    {
        var session = Session(lastFootprint: 127 * MiB);
        session.WatchdogSeconds = 30;
        Assert.Equal(ExitReason.ForegroundOom, Infer(session, Foreground(heartbeat: Start + 40_000)).Reason);
        session.WatchdogSeconds = 10;
        Assert.Equal(ExitReason.Watchdog, Infer(session, Foreground(heartbeat: Start + 40_000)).Reason);
        // Without --watchdog, 5 s: a heartbeat 3 s old is no stall.
        Assert.Equal(ExitReason.ForegroundOom, Infer(Session(lastFootprint: 127 * MiB), Foreground(heartbeat: Start + 57_000)).Reason);
    }

    [Fact]
    public void AProgramThatNeverCallsTheApiHasNoWatchdog()
    {
        var verdict = Infer(Session(lastFootprint: 127 * MiB), marks: new AppMarks());
        Assert.Equal(ExitReason.ForegroundOom, verdict.Reason);
        Assert.Contains("the program never set its state (foom_set_state): counted as foreground", verdict.Evidence);
    }

    [Fact]
    public void InTheForegroundNearTheLimitItIsAForegroundOom()
    {
        var verdict = Infer(Session(lastFootprint: 100 * MiB), Foreground());
        Assert.Equal(ExitReason.ForegroundOom, verdict.Reason);
        Assert.Contains("last footprint 100.0 MiB was 78% of the limit 128.0 MiB (at least 75%: memory was critical)", verdict.Evidence);
    }

    [Fact]
    public void FarFromTheLimitItIsUnknownNotAnOom()
    {
        // Bugsnag #1687: OOM reported with 2 GB free. Sentry #3193 / Bugsnag #1867: test harnesses killing the app.
        var verdict = Infer(Session(lastFootprint: 1L << 30, limit: 3L << 30), Foreground());
        Assert.Equal(ExitReason.Unknown, verdict.Reason);
        Assert.Contains("last footprint 1.00 GiB was 33% of the limit 3.00 GiB, below the 75% that would make it an OOM", verdict.Evidence);
    }

    [Fact]
    public void AMemoryWarningAfterTheLastSampleIsMemoryEvidence()
    {
        var session = Session(lastFootprint: 60 * MiB);
        session.Warnings.Add(new MemoryWarning { Time = Start + 61_000, FootprintBytes = 110 * MiB, LimitBytes = 128 * MiB, Source = "pressure" });
        var verdict = Infer(session, Foreground());
        Assert.Equal(ExitReason.ForegroundOom, verdict.Reason);
        Assert.Contains(verdict.Evidence, line => line.StartsWith("a memory warning (pressure, footprint 110.0 MiB)", StringComparison.Ordinal));

        // An old warning, before the last sample showed memory low again, is not.
        session.Warnings[0].Time = Start + 10_000;
        Assert.Equal(ExitReason.Unknown, Infer(session, Foreground()).Reason);
    }

    [Fact]
    public void WithoutMarksOrFootprintNothingIsClaimed()
    {
        var verdict = Infer(Session(lastFootprint: null), marks: null);
        Assert.Equal(ExitReason.Unknown, verdict.Reason);
        Assert.Contains("the program's marks (ring header) were not available", verdict.Evidence);
        Assert.Contains("no footprint and limit were recorded to tie the death to memory", verdict.Evidence);
    }

    [Fact]
    public void TheFirstRunHasItsOwnReason()
    {
        var verdict = ExitClassifier.FirstRun();
        Assert.Equal((ExitReason.FirstRun, ExitHow.Inferred), (verdict.Reason, verdict.How));
    }
}
