using Foom.Recording.Tests.Support;
using Foom.Testing;
using Foom.Report.IO;
using Foom.Interop;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// When `foom run` makes reports by itself (at an observed OOM death, at the next launch for a
/// death it could not see, at memory warnings when asked) and how many sessions it keeps.
/// </summary>
public sealed class RunAutoReportTests : IDisposable
{
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task AnObservedOomKillLeavesTheReportInItsSession()
    {
        var result = await _foom.RunAsync("run", "--limit", "32M", "--app", "oom-report", "--",
            CProgram.Build("memory_eater.c"), "256", "1");
        Assert.True(result.ExitCode == 137, result.Describe());
        var session = Assert.Single(_foom.Sessions("oom-report"));
        var path = Path.Combine(session, SessionDirectories.ReportFileName);
        Assert.True(File.Exists(path), $"no {path}:\n{result.Describe()}");
        Assert.Contains($"report {path}", result.Errors);

        var report = ReportReader.Read(path);
        Assert.Equal(_foom.Info(session).SessionId, report.Head.ReportId);
        Assert.Equal(("foreground_oom", "observed"), (report.Head.ExitReason, report.Head.ExitHow));
        Assert.False(report.Head.LiveSnapshot);
        Assert.Equal(32L << 20, report.Head.LimitBytes);
        // memory_eater holds 1 MiB blocks until the kernel kills it at 32 MiB.
        var blocks = Assert.Single(report.Items, item => item.Name == "Malloc 1.00 MiB");
        Assert.True(blocks.Size >= 16L << 20, $"only {blocks.Size} bytes of 1 MiB blocks in the report");
        Assert.Contains(blocks.Stacks, stack => stack.CallerFunction == "main");
    }

    [Fact]
    public async Task WhenTheRecorderDiedTooTheNextLaunchReportsTheOldSession()
    {
        var program = CProgram.Build("hoard.c");
        using (var foom = _foom.Start("run", "--limit", "64M", "--app", "late-report", "--", program, "56", "256", "300"))
        {
            Assert.StartsWith("held", await foom.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
            var session = Assert.Single(_foom.Sessions("late-report"));
            await _foom.RunningSession("late-report");
            // Near the limit, once the recorder has applied the program's blocks to the session's
            // tables (on a loaded machine its drain may lag the program), both die at once, as a
            // global OOM or a power cut would take them.
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (((_foom.Info(session).LastFootprintBytes ?? 0) < 50L << 20 || AppliedBytes(session) < 48L << 20) && DateTime.UtcNow < deadline)
                await Task.Delay(100, TestContext.Current.CancellationToken);
            var pid = _foom.Info(session).Pid;
            Processes.kill(foom.Id, 9);
            Processes.kill(pid, 9);
            await foom.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        var old = Assert.Single(_foom.Sessions("late-report"));
        Assert.False(File.Exists(Path.Combine(old, SessionDirectories.ReportFileName)), "a report before anyone knew how the run ended");

        var next = await _foom.RunAsync("run", "--app", "late-report", "--", program, "1");
        Assert.True(next.ExitCode == 0, next.Describe());
        var path = Path.Combine(old, SessionDirectories.ReportFileName);
        Assert.True(File.Exists(path), $"the next launch made no report of the killed run:\n{next.Describe()}");
        Assert.Contains($"report of the previous run (foreground_oom, inferred): {path}", next.Errors);
        var report = ReportReader.Read(path);
        Assert.Equal(_foom.Info(old).SessionId, report.Head.ReportId);
        Assert.Equal(("foreground_oom", "inferred"), (report.Head.ExitReason, report.Head.ExitHow));
        Assert.True(report.Head.LiveBytes >= 48L << 20, $"the killed run's tables held over 48 MiB, its report says {report.Head.LiveBytes} bytes");
        Assert.Contains(report.Items, item => item.Stacks.Any(stack => stack.CallerFunction == "cache_image"));
        // The run that ended normally gets none.
        Assert.False(File.Exists(Path.Combine(_foom.Sessions("late-report")[1], SessionDirectories.ReportFileName)));
    }

    [Fact]
    public async Task KeepRemovesTheOldestSessionsButNeverOneStillBeingRecorded()
    {
        var hoard = CProgram.Build("hoard.c");
        var hello = CProgram.Build("hello.c");
        using var running = _foom.Start("run", "--app", "kept", "--", hoard, "4", "256", "120");
        Assert.StartsWith("held", await running.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
        var recorded = (await _foom.RunningSession("kept")).SessionId;

        var finished = new List<string>();
        for (var run = 0; run < 3; run++)
        {
            var result = await _foom.RunAsync("run", "--keep", "2", "--app", "kept", "--", hello);
            Assert.True(result.ExitCode == 0, result.Describe());
            finished.Add(_foom.Info(_foom.Sessions("kept")[^1]).SessionId);
        }
        // The oldest finished run is gone; the older session still being recorded stays.
        Assert.Equal([recorded, finished[1], finished[2]], SessionIds());

        Processes.kill(running.Id, 15);   // foom passes it to the program and records the end
        await running.WaitForExitAsync(TestContext.Current.CancellationToken);
        var last = await _foom.RunAsync("run", "--keep", "2", "--app", "kept", "--", hello);
        Assert.True(last.ExitCode == 0, last.Describe());
        Assert.Equal([finished[2], _foom.Info(_foom.Sessions("kept")[^1]).SessionId], SessionIds());
        Assert.Empty(Directory.GetDirectories(Path.Combine(_foom.DataDirectory, "kept", "sessions"), ".trash-*"));
    }

    [Fact]
    public async Task ALiveSnapshotAtAMemoryWarningIsWrittenWhileTheProgramRuns()
    {
        using var foom = _foom.Start("run", "--limit", "256M", "--warn-at", "0.25", "--snapshot-at-warning", "--app", "snapshot", "--",
            CProgram.Build("hoard.c"), "80", "256", "120");
        var errors = foom.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.StartsWith("held", await foom.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
        var session = Assert.Single(_foom.Sessions("snapshot"));
        // The snapshot is made at a low priority: on a loaded machine it may take a while.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        string[] snapshots;
        while ((snapshots = Directory.GetFiles(session, SessionDirectories.SnapshotPrefix + "*.json")).Length == 0 && DateTime.UtcNow < deadline)
            await Task.Delay(100, TestContext.Current.CancellationToken);
        Processes.kill(foom.Id, 15);   // passed on to the program, which has shown what it holds
        await foom.WaitForExitAsync(TestContext.Current.CancellationToken);
        var snapshot = Assert.Single(snapshots);
        Assert.Contains($"live snapshot at a memory warning: {snapshot}", await errors);

        var report = ReportReader.Read(snapshot);
        Assert.True(report.Head.LiveSnapshot);
        Assert.StartsWith(_foom.Info(session).SessionId + ".live.", report.Head.ReportId);
        Assert.Null(report.Head.ExitReason);
        // The warning came at 64 MiB of footprint, most of it hoard's 256 KiB images.
        Assert.True(report.Head.LiveBytes >= 16L << 20, $"the snapshot holds {report.Head.LiveBytes} bytes");
        Assert.Contains(report.Items, item => item.Name == "Malloc 256.00 KiB");
        // A run ended by a signal passed on from the user is no death to report.
        Assert.False(File.Exists(Path.Combine(session, SessionDirectories.ReportFileName)));
    }

    [Fact]
    public async Task BadReportAndUploadOptionsAreRefusedBeforeAnythingRuns()
    {
        var hello = CProgram.Build("hello.c");
        string[][] options = [["--keep", "0"], ["--server", "ftp://127.0.0.1/"], ["--server", "http://127.0.0.1:9"]];
        string[] named = ["--keep", "--server", "--ingest-key"];
        for (var i = 0; i < options.Length; i++)
        {
            var result = await _foom.RunAsync(["run", .. options[i], "--app", "refused", "--", hello]);
            Assert.True(result.ExitCode == 64, result.Describe());
            Assert.Contains(named[i], result.Errors);
            Assert.DoesNotContain("hello from a test program", result.Output);
        }
        Assert.Empty(_foom.Sessions("refused"));
    }

    /// <summary>The bytes the recorder has applied to a session's tables so far, read as a report reads them.</summary>
    private static long AppliedBytes(string session)
    {
        using var reader = Foom.Storage.SessionReader.Open(session);
        return reader.Live.HeapBytes + reader.Live.MappingBytes;
    }

    private List<string> SessionIds() => [.. _foom.Sessions("kept").Select(directory => _foom.Info(directory).SessionId)];

    public void Dispose() => _foom.Dispose();
}
