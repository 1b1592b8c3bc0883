using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using Foom.Report.Building;
using Foom.Report.IO;
using Foom.Report.Tests.Support;
using Foom.Storage.Sessions;

namespace Foom.Report.Tests;

/// <summary>The report builder over real session directories written through the storage engine.</summary>
public class BuilderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("foom-builder-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly ReportBuildOptions NoSymbols = new() { Symbolizer = null, Now = DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_070_000) };

    private string Session(string id, Action<SessionWriter> fill, SessionInfo? info = null)
    {
        var directory = Path.Combine(_root, id);
        TestSessions.Write(directory, info ?? TestSessions.Info(id), fill);
        return directory;
    }

    [Fact]
    public void AFinishedSessionBecomesAWholeReport()
    {
        var directory = Session("s-0001", w =>
        {
            var load = w.Stack(0x1100, 0x1200);
            var cache = w.Stack(0x2100, 0x1200);
            w.Malloc(load, 40, 1000);            // Malloc 48 Bytes
            w.Malloc(cache, 4 << 20, 3);         // Malloc 4.00 MiB
            w.Malloc(load, 100, 7, type: "Chat.Message");
            w.Map(cache, 8 << 20, "VM: anonymous");
        });

        var report = ReportBuilder.Build(directory, SessionMarks.None, NoSymbols);
        var head = report.Head;

        Assert.Equal(("s-0001", "s-0001", "linux", "chat", "2.1.0"), (head.ReportId, head.SessionId, head.Platform, head.AppId, head.AppVersion));
        Assert.Equal(TestSessions.MainBuildId, head.AppUuid);
        Assert.Equal(("device-7", "alice", "build-host", "6.1.0-18-amd64"), (head.DeviceId, head.UserId, head.Phone, head.OsVersion));
        Assert.Equal((1_760_000_000_000L, 1_760_000_070_000L), (head.LaunchTime!.Value, head.ReportTime!.Value));
        Assert.Equal(("foreground_oom", "observed"), (head.ExitReason, head.ExitHow));
        Assert.Contains("kernel: Memory cgroup out of memory: Killed process 4242 (chat)", head.ExitEvidence);
        Assert.Equal((256L << 20, 249L << 20, 250L << 20), (head.LimitBytes!.Value, head.FootprintBytes!.Value, head.PeakFootprintBytes!.Value));
        Assert.Equal("threshold", Assert.Single(head.Warnings!).Source);
        Assert.False(head.LiveSnapshot);
        Assert.Null(head.Recovery);

        Assert.Equal(["Malloc 4.00 MiB", "VM: anonymous", "Malloc 48 Bytes", "Chat.Message"], report.Items.Select(i => i.Name));
        Assert.Equal(1000 * 40 + (3L << 22) + 7 * 100 + (8L << 20), head.LiveBytes);   // the bytes asked for
        Assert.Equal(1000 + 3 + 7 + 1, head.LiveCount);
        AssemblyTests.AssertConsistent(report, head.LiveBytes, head.LiveCount);

        var cacheStack = report.Items[0].Stacks.Single();
        Assert.Equal($"{TestSessions.MainBuildId}@{0x2100}", cacheStack.Caller);   // libc's malloc skipped
        Assert.Equal([TestSessions.LibcBuildId, TestSessions.MainBuildId, TestSessions.MainBuildId], cacheStack.Frames.Select(f => f.Uuid));
        Assert.Equal([0x9a0e0UL, 0x2100, 0x1200], cacheStack.Frames.Select(f => f.Offset));
        Assert.Equal([TestSessions.MainBuildId, TestSessions.LibcBuildId], report.Modules.Select(m => m.Uuid));
        Assert.Equal(TestSessions.MainBase, report.Modules[0].Base);

        // What is built reads back as a valid Foom report.
        var path = Path.Combine(_root, "s-0001.json");
        ReportWriter.Save(report, path);
        Assert.Equal(head.LiveBytes, ReportReader.Read(path).Head.LiveBytes);
    }

    [Fact]
    public void TheMarksGiveTheLastSceneAndTheDroppedEvents()
    {
        var directory = Session("s-ring", w => w.Malloc(w.Stack(0x10), 64, 3));

        // What the recorder read from the ring after foom_set_scene("ChatView") and an overflow.
        var report = ReportBuilder.Build(directory, new SessionMarks("ChatView", 12), NoSymbols);

        Assert.Equal("ChatView", report.Head.Scene);
        Assert.All(report.Items, i => Assert.Equal("ChatView", i.Scene));
        Assert.Equal(12, report.Head.DroppedEvents);

        // A ring that could not be read costs the scene, never the report, and says so.
        var again = ReportBuilder.Build(directory, new SessionMarks(null, 0, Problem: "ring.foom could not be read: the scene is unknown"), NoSymbols);
        Assert.Null(again.Head.Scene);
        Assert.Contains(again.Head.Recovery!, note => note.Contains("ring.foom") && note.Contains("scene"));
        Assert.Equal(3, again.Head.LiveCount);
    }

    [Fact]
    public void ASessionWithoutAnEndRecordSaysTheRecorderDied()
    {
        var info = TestSessions.Info("s-0002");
        info.End = null;
        var directory = Session("s-0002", w => w.Malloc(w.Stack(0x10), 64, 3), info);
        var report = ReportBuilder.Build(directory, SessionMarks.None, NoSymbols);
        Assert.Null(report.Head.ExitReason);
        Assert.Contains(report.Head.Recovery!, note => note.Contains("no end record"));
        Assert.Equal("s-0002", report.Head.ReportId);
    }

    [Fact]
    public void ASessionStillBeingWrittenIsALiveSnapshotWithItsOwnId()
    {
        var directory = Path.Combine(_root, "s-0003");
        using var tables = Foom.Storage.SessionTables.Create(directory);
        var writer = new SessionWriter(tables);
        writer.Malloc(writer.Stack(0x10), 64, 5);
        var info = TestSessions.Info("s-0003");
        info.End = null;
        TestSessions.WriteInfo(directory, info);

        var report = ReportBuilder.Build(directory, SessionMarks.None, NoSymbols);

        Assert.True(report.Head.LiveSnapshot);
        Assert.Equal("s-0003.live.1760000070000", report.Head.ReportId);
        Assert.Equal(5 * 64, report.Head.LiveBytes);
        Assert.Contains(report.Head.Recovery!, note => note.Contains("still running"));
    }

    [Fact]
    public void ASessionWhoseWriterWasKilledIsRecoveredAndSaysSo()
    {
        var helper = Path.Combine(AppContext.BaseDirectory, "Foom.Storage.CrashHelper.dll");
        var directory = Path.Combine(_root, "s-killed");
        var progressPath = Path.Combine(_root, "progress");
        using var process = Process.Start(new ProcessStartInfo("dotnet", [helper, directory, "7", progressPath]) { RedirectStandardOutput = true })!;
        try
        {
            Assert.Equal("ready", process.StandardOutput.ReadLine());
            // Let it write a while, then SIGKILL it in the middle of whatever it is doing.
            using (var progress = MemoryMappedFile.CreateFromFile(progressPath, FileMode.Open))
            using (var view = progress.CreateViewAccessor(0, 8))
            {
                var clock = Stopwatch.StartNew();
                while (view.ReadInt64(0) < 20_000 && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(20);
                Assert.True(view.ReadInt64(0) >= 20_000, "the writer made no progress in 60 s");
            }
            process.Kill();
            process.WaitForExit();
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
        var info = TestSessions.Info("s-killed");
        info.End = null;
        info.MainBuildId = null;
        TestSessions.WriteInfo(directory, info);

        var report = ReportBuilder.Build(directory, SessionMarks.None, NoSymbols);

        Assert.False(report.Head.LiveSnapshot);
        Assert.Contains(report.Head.Recovery!, note => note.Contains("did not close the file"));
        Assert.True(report.Head.LiveCount > 0);
        AssemblyTests.AssertConsistent(report, report.Head.LiveBytes, report.Head.LiveCount);
    }

    [Fact]
    public void ATruncatedTableIsAnErrorNamingTheFile()
    {
        var directory = Session("s-0004", w => w.Malloc(w.Stack(0x10), 64, 100));
        var live = Path.Combine(directory, "live.foom");
        using (var file = new FileStream(live, FileMode.Open)) file.SetLength(2000);
        var error = Assert.Throws<ReportFormatException>(() => ReportBuilder.Build(directory, SessionMarks.None, NoSymbols));
        Assert.Contains("live.foom", error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"format_version\":1,\"session_id\":\"x\"")]
    [InlineData("{\"format_version\":2,\"session_id\":\"x\",\"app_id\":\"chat\"}")]
    [InlineData("{\"format_version\":1,\"app_id\":\"chat\"}")]
    public void ABrokenSessionJsonIsAnErrorNamingIt(string text)
    {
        var directory = Session("s-0005", w => w.Malloc(w.Stack(0x10), 64));
        File.WriteAllText(Path.Combine(directory, "session.json"), text);
        var error = Assert.Throws<ReportFormatException>(() => ReportBuilder.Build(directory, SessionMarks.None, NoSymbols));
        Assert.Contains("session.json", error.Message);
    }

    [Fact]
    public void ADirectoryThatIsNoSessionIsNamed()
    {
        var error = Assert.Throws<ReportFormatException>(() => ReportBuilder.Build(_root, SessionMarks.None, NoSymbols));
        Assert.Contains("not a session directory", error.Message);
    }
}

/// <summary>The budget on a session of a million live blocks, written through the real storage engine.</summary>
public class BigSessionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("foom-big-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void AMillionLiveBlocksOver4096StacksFitIn300KBWithEveryTotal()
    {
        var directory = Path.Combine(_root, "big-1");
        SyntheticSession.Write(directory, allocations: 1_000_000, stacks: 4096);

        var report = ReportBuilder.Build(directory, SessionMarks.None, new ReportBuildOptions { Symbolizer = null });

        var gzip = ReportJson.ToGzip(report);
        Assert.InRange(gzip.Length, 200_000, 300_000);   // fits, and the budget is used
        Assert.Equal(1_000_000, report.Head.LiveCount);
        AssemblyTests.AssertConsistent(report, report.Head.LiveBytes, report.Head.LiveCount);
        var trimmed = report.Head.Trimmed!;
        Assert.True(trimmed.BudgetStacks > 0, "the selection alone should not fit: the budget must have trimmed");
        Assert.True(trimmed.DeepStacks > 0);
        Assert.True(report.Items.Take(15).All(i => i.Stacks.Count > 0), "the top categories keep stacks");
        var roundTrip = ReportReader.Parse(gzip, "big.json.gz");
        Assert.Equal(report.Head.LiveBytes, roundTrip.Head.LiveBytes);
    }
}
