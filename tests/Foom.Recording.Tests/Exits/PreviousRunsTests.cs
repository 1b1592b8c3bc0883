using System.Diagnostics;
using Foom.Recorder.Exits;
using Foom.Recorder.Limits;
using Foom.Testing;
using Foom.Storage.Sessions;

namespace Foom.Recording.Tests.Exits;

/// <summary>Judging an app's unfinished sessions at its next launch, in a real data directory, with real processes.</summary>
public sealed class PreviousRunsTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "foom-previous-runs-" + Guid.NewGuid().ToString("N"));
    private readonly DataDirectory _data;
    private readonly string _bootId = MachineFacts.BootId()!;
    private readonly string _kernel = MachineFacts.KernelRelease()!;

    public PreviousRunsTests() => _data = new DataDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private SessionInfo Store(string id, long start, Action<SessionInfo>? change = null)
    {
        var info = new SessionInfo
        {
            SessionId = id, AppId = "app", StartTime = start, BootId = _bootId, KernelRelease = _kernel, MainBuildId = "build-1",
            // Pids that cannot be alive: the kernel's pid_max is at most 2^22.
            Pid = 1 << 23, RecorderPid = (1 << 23) + 1,
            Limit = new MemoryLimit { Bytes = 128 * MiB, Source = "cgroup-v1" },
            LastFootprintBytes = 10 * MiB, LastFootprintTime = start + 5_000,
        };
        change?.Invoke(info);
        var directory = Path.Combine(_data.SessionsDirectory("app"), id);
        Directory.CreateDirectory(directory);
        SessionInfoFile.Write(directory, info);
        return info;
    }

    private LaunchContext Launch(string id = "now") =>
        new(id, _bootId, _kernel, "build-1", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private SessionInfo Reread(string id) => SessionInfoFile.Read(Path.Combine(_data.SessionsDirectory("app"), id)).Info!;

    [Fact]
    public void AnAppsFirstRunIsFirstRun()
    {
        var result = PreviousRuns.Judge(_data, "app", Launch());
        Assert.Equal(ExitReason.FirstRun, result.PreviousRun!.Reason);
        Assert.Empty(result.Judged);
        // The launching session itself does not count as an earlier run.
        Store("now", 1_000);
        Assert.Equal(ExitReason.FirstRun, PreviousRuns.Judge(_data, "app", Launch("now")).PreviousRun!.Reason);
    }

    [Fact]
    public void APreviousRunThatEndedKeepsItsObservedVerdict()
    {
        Store("s1", 1_000, info => info.End = new SessionEnd { EndTime = 2_000, ExitStatus = 139, Signal = 11, ExitReason = "crash", How = "observed", Evidence = ["killed by SIGSEGV (11)"] });
        var result = PreviousRuns.Judge(_data, "app", Launch());
        Assert.Equal((ExitReason.Crash, ExitHow.Observed, "s1"), (result.PreviousRun!.Reason, result.PreviousRun.How, result.PreviousSessionId!));
        Assert.Empty(result.Judged);
    }

    [Fact]
    public void AnUnfinishedRunIsJudgedAndTheVerdictWrittenIntoItsSessionFile()
    {
        Store("s1", 1_000, info => info.LastFootprintBytes = 120 * MiB);
        var marks = new AppMarks { State = AppRunState.Foreground, LastHeartbeatMilliseconds = 5_500 };
        var result = PreviousRuns.Judge(_data, "app", Launch("s2"), (directory, info) =>
        {
            Assert.Equal("s1", info.SessionId);
            Assert.EndsWith("/s1", directory);
            return marks;
        });
        var judged = Assert.Single(result.Judged);
        Assert.Equal((ExitReason.ForegroundOom, ExitHow.Inferred), (judged.Verdict.Reason, judged.Verdict.How));
        Assert.Equal(ExitReason.ForegroundOom, result.PreviousRun!.Reason);

        var end = Reread("s1").End!;
        Assert.Equal(("foreground_oom", "inferred", "s2"), (end.ExitReason, end.How, end.InferredBySession!));
        Assert.Null(end.ExitStatus);
        Assert.Equal(6_000, end.EndTime); // the last sample, the last moment it was known alive
        Assert.Equal(judged.Verdict.Evidence, end.Evidence);

        // Judged once: the next launch reads the stored verdict and judges nothing again.
        var again = PreviousRuns.Judge(_data, "app", Launch("s3"));
        Assert.Empty(again.Judged);
        Assert.Equal((ExitReason.ForegroundOom, ExitHow.Inferred), (again.PreviousRun!.Reason, again.PreviousRun.How));
    }

    [Fact]
    public void AnExitMarkersStatusBecomesTheInferredExitStatus()
    {
        Store("s1", 1_000);
        PreviousRuns.Judge(_data, "app", Launch(), (_, _) => new AppMarks { Exit = new ExitMark("main returned", 4, 7_000) });
        var end = Reread("s1").End!;
        Assert.Equal(("exit", 4, 7_000L), (end.ExitReason, end.ExitStatus!.Value, end.EndTime));
    }

    [Fact]
    public void EachUnfinishedRunIsComparedWithTheLaunchThatFollowedIt()
    {
        // s1 died, then the machine rebooted before s2; s2 died near its limit on the new boot.
        Store("s1", 1_000, info => { info.BootId = "old-boot"; info.LastFootprintBytes = 127 * MiB; });
        Store("s2", 50_000, info => info.LastFootprintBytes = 127 * MiB);
        var result = PreviousRuns.Judge(_data, "app", Launch("s3"));
        Assert.Equal(2, result.Judged.Count);
        Assert.Equal("os_reboot", Reread("s1").End!.ExitReason);
        Assert.Equal("foreground_oom", Reread("s2").End!.ExitReason);
        Assert.Equal(("s2", ExitReason.ForegroundOom), (result.PreviousSessionId!, result.PreviousRun!.Reason));
    }

    [Fact]
    public void ACorruptSessionFileIsNamedAndTheOthersStillJudged()
    {
        Store("s1", 1_000);
        var broken = Path.Combine(_data.SessionsDirectory("app"), "broken");
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, "session.json"), "{\"session_id\": \"broken\", \"app_id\": ");
        var result = PreviousRuns.Judge(_data, "app", Launch());
        Assert.Single(result.Judged);
        var problem = Assert.Single(result.Problems);
        Assert.StartsWith(Path.Combine(broken, "session.json") + ": is not valid session JSON", problem);
    }

    [Fact]
    public void ARunWhoseRecorderAndProgramWereBothKilledIsInferredAtTheNextLaunch()
    {
        // The real thing: a program near its limit in its own memory cgroup, a stand-in for its
        // recorder, both alive while the next launch looks (so: still running, not judged), then
        // both SIGKILLed together, as when a whole process group is killed.
        using var owned = TestCgroups.Create(64 * MiB);
        using var program = TestCgroups.StartInside(owned, CProgram.Build("memory_eater.c"), "52", "4", "120");
        using var recorder = Process.Start(new ProcessStartInfo("/bin/sleep", "120"))!;
        try
        {
            while (program.StandardOutput.ReadLine() is { } line && line != "done")
            {
            }
            var footprint = new TargetMemory(program.Id, owned).ReadFootprint()!;
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            Store("killed", now, info =>
            {
                info.Pid = program.Id;
                info.RecorderPid = recorder.Id;
                info.Limit = new MemoryLimit { Bytes = owned.LimitBytes, Source = owned.LimitSource, Cgroup = owned.Group.Path };
                info.LastFootprintBytes = footprint.Bytes;
                info.LastFootprintTime = footprint.TimeMilliseconds;
            });

            var whileAlive = PreviousRuns.Judge(_data, "app", Launch("second"));
            Assert.Equal(["killed"], whileAlive.StillRunning);
            Assert.Empty(whileAlive.Judged);
            Assert.Null(Reread("killed").End);

            recorder.Kill();
            program.Kill();
            recorder.WaitForExit();
            program.WaitForExit();

            var afterwards = PreviousRuns.Judge(_data, "app", Launch("third"));
            var judged = Assert.Single(afterwards.Judged);
            Assert.Equal((ExitReason.ForegroundOom, ExitHow.Inferred), (judged.Verdict.Reason, judged.Verdict.How));
            Assert.Contains(judged.Verdict.Evidence, line => line.StartsWith("last footprint ", StringComparison.Ordinal) && line.Contains("of the limit 64.0 MiB"));
            Assert.Equal("foreground_oom", Reread("killed").End!.ExitReason);
        }
        finally
        {
            if (!recorder.HasExited) recorder.Kill();
            if (!program.HasExited) program.Kill();
        }
    }

    [Fact]
    public void ALivePidThatStartedAfterTheSessionIsAStrangerNotTheRecorder()
    {
        using var stranger = Process.Start(new ProcessStartInfo("/bin/sleep", "60"))!;
        try
        {
            var hourAgo = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 3_600_000;
            var session = Store("old", hourAgo, info => { info.RecorderPid = stranger.Id; info.Pid = stranger.Id; });
            Assert.False(SessionLiveness.IsRunning(session, _bootId));
            Assert.Single(PreviousRuns.Judge(_data, "app", Launch()).Judged);

            // The same pid with a session that began after it started: that is its recorder, alive.
            var current = new SessionInfo { SessionId = "x", AppId = "app", StartTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), BootId = _bootId, RecorderPid = stranger.Id };
            Assert.True(SessionLiveness.IsRunning(current, _bootId));
            // ...unless it is from another boot.
            current.BootId = "another-boot";
            Assert.False(SessionLiveness.IsRunning(current, _bootId));
        }
        finally
        {
            stranger.Kill();
        }
    }

    /// <summary>
    /// Issue 16, item 2: session.json is rewritten only at warnings, so after a kill the footprint
    /// log holds the last samples. Before inference read it, this run was `unknown` ("no
    /// footprint and limit were recorded").
    /// </summary>
    [Fact]
    public void TheFootprintLogsLastSampleDecidesWhenSessionJsonHasNone()
    {
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
        Store("s1", start, info => { info.LastFootprintBytes = null; info.LastFootprintTime = null; info.PeakFootprintBytes = null; });
        using (var tables = Foom.Storage.SessionTables.Create(Path.Combine(_data.SessionsDirectory("app"), "s1")))
        using (var log = tables.CreateLog<FootprintRecord>(FootprintLog.Name, FootprintLog.Capacity, FootprintLog.TypeTag))
        {
            log.Append(new FootprintRecord(start + 1_000, 60 * MiB));
            log.Append(new FootprintRecord(start + 1_250, 104 * MiB));
            log.Append(new FootprintRecord(start + 1_500, 101 * MiB));
        }
        var judged = Assert.Single(PreviousRuns.Judge(_data, "app", Launch("s2")).Judged);
        Assert.Equal((ExitReason.ForegroundOom, ExitHow.Inferred), (judged.Verdict.Reason, judged.Verdict.How));
        Assert.Contains(judged.Verdict.Evidence, line => line.StartsWith("last footprint 101.0 MiB was 79% of the limit 128.0 MiB", StringComparison.Ordinal));
        // What the log told is kept with the verdict.
        var stored = Reread("s1");
        Assert.Equal((101 * MiB, start + 1_500, 104 * MiB), (stored.LastFootprintBytes!.Value, stored.LastFootprintTime!.Value, stored.PeakFootprintBytes!.Value));
    }

    [Fact]
    public void ARunKilledBeforeItsPidWasWrittenIsJudgedWithThePidTheHookKnewOrSaysThereWasNone()
    {
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
        Store("s1", start, info => info.Pid = 0);
        Store("s2", start + 1_000, info => info.Pid = 0);
        var result = PreviousRuns.Judge(_data, "app", Launch("s3"), (directory, _) => directory.EndsWith("/s1", StringComparison.Ordinal) ? new AppMarks { Pid = 1 << 23 } : null);
        Assert.Equal(2, result.Judged.Count);
        Assert.Equal(1 << 23, Reread("s1").Pid);
        Assert.DoesNotContain(Reread("s1").End!.Evidence, line => line.Contains("no pid was recorded"));
        Assert.Equal(0, Reread("s2").Pid);
        Assert.Contains("the recorder died before the program started, or as it started it: no pid was recorded", Reread("s2").End!.Evidence);
    }

    [Fact]
    public void ARunWhoseProgramOutlivedItsRecorderBeforeThePidWasWrittenIsStillRunning()
    {
        using var program = Process.Start(new ProcessStartInfo("/bin/sleep", "60"))!;
        try
        {
            Store("s1", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), info => info.Pid = 0);
            var result = PreviousRuns.Judge(_data, "app", Launch("s2"), (_, _) => new AppMarks { Pid = program.Id });
            Assert.Equal(["s1"], result.StillRunning);
            Assert.Null(Reread("s1").End);
        }
        finally
        {
            program.Kill();
        }
    }
}
