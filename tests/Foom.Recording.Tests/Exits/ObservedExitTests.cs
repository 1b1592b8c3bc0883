using Foom.Recorder.Exits;
using Foom.Recorder.Launch;
using Foom.Recorder.Limits;
using Foom.Storage.Sessions;

namespace Foom.Recording.Tests.Exits;

/// <summary>The observed rules: the recorder saw the death.</summary>
public class ObservedExitTests
{
    private const long MiB = 1 << 20;

    private static readonly KernelOomKill KernelKillOf1234 = new(
        new OomKilled("Memory cgroup out of memory: Killed process 1234 (app) total-vm:300000kB, anon-rss:130000kB, file-rss:2000kB, shmem-rss:0kB, UID:0 pgtables:400kB oom_score_adj:0",
            "Memory cgroup out of memory", 1234, "app", 300000, 130000, 2000, 0, 0, 400, 0),
        new OomConstraint("oom-kill:...", "CONSTRAINT_MEMCG", "/foom-app", "/foom-app", "app", 1234, 0),
        null, [], 42, 1000);

    private static ObservedDeath Killed(int signal) => new() { Signal = signal };

    [Fact]
    public void ANormalExitIsExit()
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath { ExitCode = 0 });
        Assert.Equal((ExitReason.Exit, ExitHow.Observed), (verdict.Reason, verdict.How));
        Assert.Equal(["exited with status 0"], verdict.Evidence);
    }

    [Fact]
    public void AnExitWithTheHooksMarkSaysHow()
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath { ExitCode = 3, Marks = new AppMarks { Exit = new ExitMark("exit()", 3, null) } });
        Assert.Equal(ExitReason.Exit, verdict.Reason);
        Assert.Contains("the hook saw exit() with status 3", verdict.Evidence);
    }

    [Theory]
    [InlineData(11, "SIGSEGV")]
    [InlineData(6, "SIGABRT")]
    [InlineData(7, "SIGBUS")]
    [InlineData(4, "SIGILL")]
    [InlineData(8, "SIGFPE")]
    [InlineData(31, "SIGSYS")]
    public void FatalSignalsAreCrashes(int signal, string name)
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath { Signal = signal, CoreDumped = true });
        Assert.Equal((ExitReason.Crash, ExitHow.Observed), (verdict.Reason, verdict.How));
        Assert.Equal($"killed by {name} ({signal}), core dumped", verdict.Evidence[0]);
    }

    [Theory]
    [InlineData(15)]
    [InlineData(2)]
    [InlineData(1)]
    [InlineData(3)]
    public void QuitSignalsFromOutsideAreUserQuits(int signal)
    {
        var verdict = ExitClassifier.Observe(Killed(signal));
        Assert.Equal(ExitReason.UserQuit, verdict.Reason);
        Assert.Contains($"{SignalNames.Name(signal)} sent from outside Foom", verdict.Evidence);
    }

    [Fact]
    public void TheQuitSenderIsNamedWhenTheHookSawIt()
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath
        {
            Signal = 15, Marks = new AppMarks { QuitSignal = 15, QuitSenderPid = 4321 }, QuitSenderName = "bash",
        });
        Assert.Equal(ExitReason.UserQuit, verdict.Reason);
        Assert.Contains("SIGTERM sent by pid 4321 (bash)", verdict.Evidence);
    }

    [Fact]
    public void CtrlCOnFoomRunPassedToTheProgramIsAUserQuit()
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath { Signal = 2, SignalForwardedByFoom = true });
        Assert.Equal(ExitReason.UserQuit, verdict.Reason);
        Assert.Contains("SIGINT passed on by foom run, which received it", verdict.Evidence);
    }

    [Fact]
    public void ASigtermFromEarlyoomIsAMemoryDeathNotAQuit()
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath
        {
            Signal = 15, Marks = new AppMarks { QuitSignal = 15, QuitSenderPid = 77 }, QuitSenderName = "earlyoom",
        });
        Assert.Equal((ExitReason.ForegroundOom, ExitHow.Observed), (verdict.Reason, verdict.How));
        Assert.Contains(verdict.Evidence, line => line.StartsWith("earlyoom is a user-space OOM killer", StringComparison.Ordinal));
    }

    [Fact]
    public void AKernelKillInTheProgramsGroupIsAForegroundOom()
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath
        {
            Signal = 9, GroupPath = "/foom-app", OomKillsInGroup = 1, KernelKill = KernelKillOf1234,
            LastFootprintBytes = 127 * MiB, LimitBytes = 128 * MiB,
        });
        Assert.Equal((ExitReason.ForegroundOom, ExitHow.Observed), (verdict.Reason, verdict.How));
        Assert.Equal("killed by SIGKILL (9)", verdict.Evidence[0]);
        Assert.Contains("kernel: " + KernelKillOf1234.Killed.Text, verdict.Evidence);
        Assert.Contains("memory cgroup /foom-app: 1 OOM kill during the run (oom_kill counter)", verdict.Evidence);
        Assert.Contains("the program never set its state (foom_set_state): counted as foreground", verdict.Evidence);
    }

    [Fact]
    public void AGlobalOomKillWithoutAGroupIsSeenInTheKernelLog()
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath { Signal = 9, KernelKill = KernelKillOf1234 });
        Assert.Equal(ExitReason.ForegroundOom, verdict.Reason);
        Assert.Contains("no memory cgroup of its own: no oom_kill counter to read", verdict.Evidence);
    }

    [Fact]
    public void TheCounterAloneSufficesWhenTheKernelLogIsUnreadable()
    {
        const string problem = "/dev/kmsg is unreadable (Permission denied): the kernel's kill lines cannot be checked";
        var verdict = ExitClassifier.Observe(new ObservedDeath { Signal = 9, GroupPath = "/g", OomKillsInGroup = 1, KernelLogProblem = problem });
        Assert.Equal(ExitReason.ForegroundOom, verdict.Reason);
        Assert.Contains(problem, verdict.Evidence);
    }

    [Theory]
    [InlineData(AppRunState.Background, ExitReason.BackgroundOom, "state background")]
    [InlineData(AppRunState.Suspended, ExitReason.SuspendedOom, "state suspended")]
    [InlineData(AppRunState.Foreground, ExitReason.ForegroundOom, "state foreground")]
    public void TheAppStateAtTheKillNamesTheOom(AppRunState state, ExitReason expected, string evidence)
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath
        {
            Signal = 9, GroupPath = "/g", OomKillsInGroup = 1, Marks = new AppMarks { State = state, Scene = "ChatRoom" },
        });
        Assert.Equal(expected, verdict.Reason);
        Assert.Contains(verdict.Evidence, line => line.StartsWith(evidence, StringComparison.Ordinal) && line.EndsWith(", scene ChatRoom", StringComparison.Ordinal));
    }

    [Fact]
    public void ASigkillWithoutOomEvidenceIsUnknownAndSaysWhatIsKnown()
    {
        // Automated test runs killing the app (Sentry #3193, Bugsnag #1867): kill -9 is not an OOM.
        var verdict = ExitClassifier.Observe(new ObservedDeath
        {
            Signal = 9, GroupPath = "/g", OomKillsInGroup = 0, LastFootprintBytes = 10 * MiB, LimitBytes = 128 * MiB,
        });
        Assert.Equal((ExitReason.Unknown, ExitHow.Observed), (verdict.Reason, verdict.How));
        Assert.Contains("memory cgroup /g: 0 OOM kills during the run (oom_kill counter)", verdict.Evidence);
        Assert.Contains("the kernel log has no OOM kill line for this pid", verdict.Evidence);
        Assert.Contains(verdict.Evidence, line => line.StartsWith("SIGKILL from outside Foom with no sign of an OOM kill", StringComparison.Ordinal));
        Assert.DoesNotContain(verdict.Evidence, line => line.Contains("% of the limit"));
    }

    [Fact]
    public void ASigkillNearTheLimitWithoutKernelEvidenceStaysUnknownButSaysSo()
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath { Signal = 9, LastFootprintBytes = 120 * MiB, LimitBytes = 128 * MiB });
        Assert.Equal(ExitReason.Unknown, verdict.Reason);
        Assert.Contains("last footprint 120.0 MiB was 94% of the limit 128.0 MiB (at least 75%: memory was critical)", verdict.Evidence);
    }

    [Fact]
    public void ASigkillWithADebuggerAttachedIsTheDebugger()
    {
        var verdict = ExitClassifier.Observe(new ObservedDeath { Signal = 9, DebuggerSeen = true });
        Assert.Equal(ExitReason.Debugger, verdict.Reason);
    }

    [Fact]
    public void FoomsOwnLimitKillIsAnOomAndItsWatchdogKillIsAWatchdog()
    {
        var limitKill = ExitClassifier.Observe(new ObservedDeath
        {
            Signal = 9, KilledByFoom = FoomKill.AtLimit(130 * MiB, 128 * MiB, "no memory cgroup could be made: not root"),
        });
        Assert.Equal((ExitReason.ForegroundOom, ExitHow.Observed), (limitKill.Reason, limitKill.How));
        Assert.Contains("foom killed it (SIGKILL): footprint 130.0 MiB crossed the limit 128.0 MiB it enforces itself (no memory cgroup could be made: not root)", limitKill.Evidence);

        // Watchdog kills counted as OOM (Bugsnag #539): never here, even right at the limit.
        var watchdog = ExitClassifier.Observe(new ObservedDeath
        {
            Signal = 9, KilledByFoom = FoomKill.ByWatchdog(TimeSpan.FromSeconds(12.5), 10), LastFootprintBytes = 127 * MiB, LimitBytes = 128 * MiB,
        });
        Assert.Equal(ExitReason.Watchdog, watchdog.Reason);
        Assert.Contains("foom's watchdog killed it (SIGKILL): no heartbeat for 12.5 s in the foreground (--watchdog 10)", watchdog.Evidence);
    }

    [Fact]
    public void AnOomKillOfAChildIsTheRunsMemoryDeathAndNamesTheChild()
    {
        var child = KernelKillOf1234 with { Killed = KernelKillOf1234.Killed with { Pid = 5555, Task = "worker" } };
        // The program itself was SIGKILLed from outside; the group's one OOM kill was its child's.
        var killed = ExitClassifier.Observe(new ObservedDeath { Signal = 9, GroupPath = "/foom-app", OomKillsInGroup = 1, OtherKillsInGroup = [child] });
        Assert.Equal((ExitReason.ForegroundOom, 5555), (killed.Reason, killed.Victim?.Killed.Pid));
        Assert.Contains("memory cgroup /foom-app: 1 OOM kill during the run (oom_kill counter), 1 of them of other processes of the group", killed.Evidence);

        // The program noticed its worker died and exited on its own (g++ after cc1plus, sh after a pipeline's stage).
        var exited = ExitClassifier.Observe(new ObservedDeath { ExitCode = 1, GroupPath = "/foom-app", OomKillsInGroup = 1, OtherKillsInGroup = [child] });
        Assert.Equal((ExitReason.ForegroundOom, ExitHow.Observed), (exited.Reason, exited.How));
        Assert.Contains("the OOM killer killed pid 5555 (worker), a process of the run's group, not the program itself: the run's memory death is that process's", exited.Evidence);
        Assert.Equal(("worker", 5555), (exited.ToEnd(0, 1, null).VictimTask, exited.ToEnd(0, 1, null).VictimPid));

        // Without a kill of another process, an exit stays an exit.
        Assert.Equal(ExitReason.Exit, ExitClassifier.Observe(new ObservedDeath { ExitCode = 1, GroupPath = "/foom-app", OomKillsInGroup = 0 }).Reason);
    }

    [Fact]
    public void OtherSignalsAreUnknownWithTheSignalNamed()
    {
        var verdict = ExitClassifier.Observe(Killed(13));
        Assert.Equal(ExitReason.Unknown, verdict.Reason);
        Assert.Equal(["killed by SIGPIPE (13)", "SIGPIPE is neither a crash nor a quit signal"], verdict.Evidence);
    }

    [Theory]
    [InlineData(0x0300, 3, null, 3)]
    [InlineData(9, null, 9, 137)]
    [InlineData(0x8b, null, 11, 139)]
    public void WaitStatusesMapToCodeOrSignal(int raw, int? code, int? signal, int shellStatus)
    {
        var death = ObservedDeath.From(new WaitStatus(raw));
        Assert.Equal((code, signal, shellStatus), (death.ExitCode, death.Signal, death.ShellStatus!.Value));
        Assert.Equal(raw == 0x8b, death.CoreDumped);
    }

    [Fact]
    public void TheVerdictBecomesTheSessionsEndRecord()
    {
        var verdict = ExitClassifier.Observe(Killed(11));
        var end = verdict.ToEnd(1_700_000_000_000, 139, 11);
        Assert.Equal(("crash", "observed", 139, 11), (end.ExitReason, end.How, end.ExitStatus!.Value, end.Signal!.Value));
        Assert.Equal(verdict.Evidence, end.Evidence);
        Assert.Null(end.InferredBySession);
    }
}
