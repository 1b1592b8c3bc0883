using System.Diagnostics;
using System.Text.Json;
using Foom.Report.IO;
using Foom.Recorder.Retention;
using Foom.Storage.Sessions;

namespace Foom.Report.Tests;

public class RetentionTests : IDisposable
{
    private readonly DataDirectory _data = new(Directory.CreateTempSubdirectory("foom-retention-").FullName);
    private const string App = "chat";

    public void Dispose() => Directory.Delete(_data.Root, recursive: true);

    private string Session(string id, long startTime, bool ended = true, int recorderPid = 0)
    {
        var directory = Path.Combine(_data.SessionsDirectory(App), id);
        Directory.CreateDirectory(directory);
        var info = new SessionInfo
        {
            SessionId = id, AppId = App, StartTime = startTime, RecorderPid = recorderPid,
            End = ended ? new SessionEnd { EndTime = startTime + 1000, ExitReason = "exit" } : null,
        };
        File.WriteAllBytes(Path.Combine(directory, SessionDirectories.InfoFileName), JsonSerializer.SerializeToUtf8Bytes(info));
        File.WriteAllBytes(Path.Combine(directory, "live.foom"), new byte[4096]);
        return directory;
    }

    private string Report(string id, DateTime written)
    {
        var path = Path.Combine(ReportWriter.ReportsDirectory(_data, App), id + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "{}");
        File.SetLastWriteTimeUtc(path, written);
        return path;
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public void TheNewestThreeSessionsAndReportsAreKept()
    {
        var sessions = Enumerable.Range(1, 5).Select(i => Session($"s{i}", 1_700_000_000_000 + i * 60_000)).ToList();
        var reports = Enumerable.Range(1, 5).Select(i => Report($"s{i}", new DateTime(2025, 1, i, 0, 0, 0, DateTimeKind.Utc))).ToList();

        var result = ReportRetention.Apply(_data, App);

        Assert.Equal(sessions[..2].Order(), result.RemovedSessions.Order());
        Assert.All(sessions[..2], s => Assert.False(Directory.Exists(s)));
        Assert.All(sessions[2..], s => Assert.True(Directory.Exists(s)));
        Assert.Equal(reports[..2].Order(), result.RemovedReports.Order());
        Assert.All(reports[2..], r => Assert.True(File.Exists(r)));
        Assert.Empty(Directory.EnumerateDirectories(_data.SessionsDirectory(App), ".trash-*"));
    }

    /// <summary>Issue 16: a recorder killed between making ".ID" and renaming it to "ID" left the hidden directory for good.</summary>
    [Fact]
    public void ADirectoryLeftHalfMadeByADeadRecorderIsRemovedAndOneStillBeingMadeIsNot()
    {
        var deadRecorder = Session(".s-dead", Now, ended: false, recorderPid: 0);
        var beingMade = Session(".s-making", Now, ended: false, recorderPid: Environment.ProcessId);
        // Killed before session.json was written: judged by age, as a session without tables is.
        var emptyOld = Directory.CreateDirectory(Path.Combine(_data.SessionsDirectory(App), ".s-empty-old")).FullName;
        Directory.SetLastWriteTimeUtc(emptyOld, DateTime.UtcNow.AddMinutes(-5));
        var emptyNew = Directory.CreateDirectory(Path.Combine(_data.SessionsDirectory(App), ".s-empty-new")).FullName;

        var result = ReportRetention.Apply(_data, App);

        Assert.Equal(new[] { deadRecorder, emptyOld }.Order(), result.RemovedSessions.Order());
        Assert.False(Directory.Exists(deadRecorder));
        Assert.False(Directory.Exists(emptyOld));
        Assert.True(Directory.Exists(beingMade));
        Assert.True(Directory.Exists(emptyNew));
    }

    [Fact]
    public void KeepSetsHowMany()
    {
        for (var i = 1; i <= 4; i++) Session($"s{i}", i);
        ReportRetention.Apply(_data, App, keep: 1);
        Assert.Equal(["s4"], Directory.EnumerateDirectories(_data.SessionsDirectory(App)).Select(Path.GetFileName));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReportRetention.Apply(_data, App, keep: 0));
    }

    [Fact]
    public void LivenessNeedsAnAliveRecorderThatStartedBeforeTheSession()
    {
        var self = Process.GetCurrentProcess();
        var started = new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
        var dir = _data.Root;

        Assert.True(SessionLiveness.IsBeingRecorded(dir, new SessionInfo { RecorderPid = Environment.ProcessId, StartTime = started + 5000 }));
        // The pid is alive but its process started after the session: the pid was reused.
        Assert.False(SessionLiveness.IsBeingRecorded(dir, new SessionInfo { RecorderPid = Environment.ProcessId, StartTime = started - 60_000 }));
        // Finished sessions and dead recorders are not being recorded.
        Assert.False(SessionLiveness.IsBeingRecorded(dir, new SessionInfo { RecorderPid = Environment.ProcessId, StartTime = started + 5000, End = new SessionEnd() }));
        Assert.False(SessionLiveness.IsBeingRecorded(dir, new SessionInfo { RecorderPid = DeadPid(), StartTime = Now }));
    }

    [Fact]
    public void AnOldSessionWhoseRecorderDiedIsRemovedAndOneThatLivesIsKept()
    {
        var self = Process.GetCurrentProcess();
        var started = new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
        var dead = Session("dead", 1, ended: false, recorderPid: DeadPid());
        var live = Session("live", 2, ended: false, recorderPid: Environment.ProcessId);
        // StartTime 2 ms after the epoch is before this process started: make the live one believable.
        File.WriteAllBytes(Path.Combine(live, SessionDirectories.InfoFileName), JsonSerializer.SerializeToUtf8Bytes(
            new SessionInfo { SessionId = "live", AppId = App, StartTime = started + 1000, RecorderPid = Environment.ProcessId }));
        for (var i = 1; i <= 3; i++) Session($"new{i}", started + 10_000 + i);

        var result = ReportRetention.Apply(_data, App);

        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(live));
        Assert.Equal([live], result.KeptBecauseRecording);
    }

    [Fact]
    public void TrashLeftByAnInterruptedPassIsDeletedAndLinksAreNotFollowed()
    {
        var root = _data.SessionsDirectory(App);
        Directory.CreateDirectory(Path.Combine(root, ".trash-s0-12345678", "deep"));
        var outside = Directory.CreateTempSubdirectory("foom-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "precious.txt"), "keep me");
            Directory.CreateSymbolicLink(Path.Combine(root, "linked"), outside);
            File.WriteAllBytes(Path.Combine(outside, SessionDirectories.InfoFileName),
                JsonSerializer.SerializeToUtf8Bytes(new SessionInfo { SessionId = "linked", AppId = App, StartTime = 1, End = new SessionEnd() }));
            for (var i = 1; i <= 3; i++) Session($"s{i}", 100 + i);

            ReportRetention.Apply(_data, App);

            Assert.False(Directory.Exists(Path.Combine(root, ".trash-s0-12345678")));
            Assert.False(Directory.Exists(Path.Combine(root, "linked")));
            Assert.Equal("keep me", File.ReadAllText(Path.Combine(outside, "precious.txt")));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void TheStorageWriterLockDecidesForASessionWithTables()
    {
        var writing = Path.Combine(_data.SessionsDirectory(App), "writing");
        using (var tables = Foom.Storage.SessionTables.Create(writing))
        {
            // No end record and a dead recorder pid, but the lock is held: being recorded.
            File.WriteAllBytes(Path.Combine(writing, SessionDirectories.InfoFileName), JsonSerializer.SerializeToUtf8Bytes(
                new SessionInfo { SessionId = "writing", AppId = App, StartTime = 1, RecorderPid = DeadPid() }));
            for (var i = 1; i <= 3; i++) Session($"s{i}", 100 + i);
            var result = ReportRetention.Apply(_data, App);
            Assert.Equal([writing], result.KeptBecauseRecording);
            Assert.True(Directory.Exists(writing));
        }
        // The writer closed: the lock is free, and the old session goes.
        Assert.False(SessionLiveness.WriterLockHeld(writing));
        ReportRetention.Apply(_data, App);
        Assert.False(Directory.Exists(writing));
    }

    /// <summary>The pid of a process that has exited (and been reaped).</summary>
    private static int DeadPid()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}
