using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Foom.Recording.Tests.Support;
using Foom.Testing;
using Foom.Report.IO;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// `foom run --server URL --ingest-key KEY` against a real Foom server: a launch record per start
/// carrying how the previous run ended, the reports of OOM deaths as the server's sampling policy
/// allows, and a server that never answers costing the run a bounded few seconds, never its status
/// or its queued uploads.
/// </summary>
public sealed class RunUploadTests : IDisposable
{
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task LaunchRecordsCarryThePreviousExitAndTheOomReportReachesTheServer()
    {
        await using var server = await IngestServer.StartAsync();
        var upload = new[] { "--server", server.Url.ToString(), "--ingest-key", IngestServer.IngestKey };
        var eater = CProgram.Build("memory_eater.c");

        var killed = await _foom.RunAsync(["run", "--limit", "32M", .. upload, "--app", "uploaded", "--", eater, "256", "1"]);
        Assert.True(killed.ExitCode == 137, killed.Describe());
        Assert.Contains("upload: 2 sent", killed.Errors);
        var first = _foom.Info(Assert.Single(_foom.Sessions("uploaded"))).SessionId;
        Assert.Equal([(first, "foreground_oom")], server.Reports("uploaded"));

        var next = await _foom.RunAsync(["run", .. upload, "--app", "uploaded", "--", CProgram.Build("hello.c"), "3"]);
        Assert.True(next.ExitCode == 3, next.Describe());
        var second = _foom.Info(_foom.Sessions("uploaded")[1]).SessionId;
        Assert.Equal([(first, "first_run", "inferred"), (second, "foreground_oom", "observed")], server.Launches("uploaded"));

        // A policy that samples nobody: the launch is still counted, the report stays on this machine only.
        server.SetSampleRate("uploaded", 0);
        var unsampled = await _foom.RunAsync(["run", "--limit", "32M", .. upload, "--app", "uploaded", "--", eater, "256", "1"]);
        Assert.True(unsampled.ExitCode == 137, unsampled.Describe());
        Assert.Contains("1 not sampled by the server's policy", unsampled.Errors);
        var third = _foom.Sessions("uploaded")[2];
        Assert.Equal((_foom.Info(third).SessionId, "exit", "observed"), server.Launches("uploaded")[2]);
        Assert.Single(server.Reports("uploaded"));
        Assert.True(File.Exists(Path.Combine(third, SessionDirectories.ReportFileName)));
        Assert.Empty(QueuedEntries());
    }

    [Fact]
    public async Task LaunchesAndReportsSayWhichVersionDeviceAndUserTheyCameFrom()
    {
        await using var server = await IngestServer.StartAsync();
        var killed = await _foom.RunAsync("run", "--limit", "32M", "--server", server.Url.ToString(), "--ingest-key", IngestServer.IngestKey,
            "--app", "identified", "--app-version", "2.1.0", "--user", "alice", "--", CProgram.Build("memory_eater.c"), "256", "1");
        Assert.True(killed.ExitCode == 137, killed.Describe());
        var info = _foom.OnlySession("identified");
        Assert.Equal(("2.1.0", "alice"), (info.AppVersion, info.UserId));
        // A hash of /etc/machine-id: stable for the machine, and not the machine's own id.
        Assert.Matches("^[0-9a-f]{32}$", info.DeviceId);
        Assert.DoesNotContain(File.ReadAllText("/etc/machine-id").Trim(), info.DeviceId);
        Assert.Equal([("2.1.0", info.DeviceId, "alice"), ("2.1.0", info.DeviceId, "alice")], server.Identities("identified"));
    }

    [Fact]
    public async Task AServerThatNeverAnswersCostsTheRunAFewSecondsAndTheQueueKeepsItsUploads()
    {
        // It takes connections and never answers: the slowest way a server can be down.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(16);
        var silentUrl = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";

        var clock = Stopwatch.StartNew();
        var killed = await _foom.RunAsync("run", "--limit", "32M", "--server", silentUrl, "--ingest-key", "k", "--app", "offline", "--",
            CProgram.Build("memory_eater.c"), "256", "1");
        clock.Stop();
        Assert.True(killed.ExitCode == 137, killed.Describe());
        // One request alone may wait 30 s for an answer; the run's uploads are held to 3 s.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), $"foom run took {clock.Elapsed} with a silent server:\n{killed.Describe()}");
        var session = _foom.Info(Assert.Single(_foom.Sessions("offline"))).SessionId;
        Assert.Equal([$"launch-{session}.upload", $"report-{session}.upload"], QueuedEntries());
        Assert.Contains("2 kept in", killed.Errors);

        // The server is back: `foom upload` sends what the run queued.
        await using var server = await IngestServer.StartAsync();
        var sent = await _foom.RunAsync("upload", "--server", server.Url.ToString(), "--ingest-key", IngestServer.IngestKey);
        Assert.True(sent.ExitCode == 0, sent.Describe());
        Assert.Equal([(session, "first_run", "inferred")], server.Launches("offline"));
        Assert.Equal([(session, "foreground_oom")], server.Reports("offline"));
        Assert.Empty(QueuedEntries());
    }

    private List<string> QueuedEntries()
    {
        var queue = Path.Combine(_foom.DataDirectory, "upload-queue");
        return Directory.Exists(queue) ? [.. Directory.GetFiles(queue, "*.upload").Select(path => Path.GetFileName(path)).Order(StringComparer.Ordinal)] : [];
    }

    public void Dispose() => _foom.Dispose();
}
