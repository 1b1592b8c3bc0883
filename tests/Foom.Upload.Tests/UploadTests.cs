using System.Diagnostics;
using System.Text.Json;
using Foom.Report.IO;
using Foom.Report.Tests.Support;
using Foom.Testing;
using Foom.Upload.Tests.Support;
using Foom.Upload;
using Foom.Storage.Sessions;

namespace Foom.Upload.Tests;

/// <summary>The upload queue and client against a real local HTTP listener that follows a script.</summary>
public class UploadTests : IDisposable
{
    private readonly DataDirectory _data = new(Directory.CreateTempSubdirectory("foom-upload-").FullName);
    private const string Key = "ingest-key-for-tests";

    public void Dispose() => Directory.Delete(_data.Root, recursive: true);

    private Uploader Client(Uri server, int maxAttempts = 6) => new(UploadQueue.In(_data), new UploaderOptions
    {
        Server = server,
        IngestKey = Key,
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromSeconds(2),
        MaxAttempts = maxAttempts,
        RequestTimeout = TimeSpan.FromSeconds(20),
    });

    private static Foom.Report.Model.Report Report(string id)
    {
        var report = TestHeap.LinuxReport();
        report.Head.ReportId = id;
        report.Head.DeviceId = "host-1";
        report.Head.UserId = "alice";
        report.Head.AppVersion = "1.2.3";
        return report;
    }

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public void AQueueTheServerNeverTakesDropsAutomaticReportsFirstAndLaunchRecordsLast()
    {
        var queue = new UploadQueue(Path.Combine(_data.Root, "by-count"), new UploadQueueLimits { MaxEntries = 6 });
        var time = 1_000L;
        IReadOnlyList<string> Put(UploadKind kind, string id, bool sampled = false) =>
            queue.Enqueue(new UploadEntryInfo { Kind = kind, Id = id, AppId = "chat", Sampled = sampled, QueuedAt = time++ }, "{}"u8).Dropped;

        foreach (var launch in new[] { "l1", "l2", "l3" }) Assert.Empty(Put(UploadKind.Launch, launch));
        Assert.Empty(Put(UploadKind.Report, "e1"));
        Assert.Empty(Put(UploadKind.Report, "a1", sampled: true));
        Assert.Empty(Put(UploadKind.Report, "a2", sampled: true));
        // Full: the oldest automatic report goes, never the entry being queued.
        Assert.Equal(["report-a1"], Put(UploadKind.Launch, "l4"));
        Assert.Equal(["report-a2"], Put(UploadKind.Report, "a3", sampled: true));
        Assert.Equal(["report-a3"], Put(UploadKind.Launch, "l5"));
        // No automatic report left: the one queued on purpose, then the oldest launch records.
        Assert.Equal(["report-e1"], Put(UploadKind.Launch, "l6"));
        Assert.Equal(["launch-l1"], Put(UploadKind.Launch, "l7"));
        Assert.Equal(["l2", "l3", "l4", "l5", "l6", "l7"], queue.Entries().Select(entry => entry.Info.Id));
        Assert.Contains("at most 6 entries", queue.DroppedStatement(["launch-l1"]));
    }

    [Fact]
    public void AQueueStaysWithinItsBytesAndFailedEntriesWithinTheirCount()
    {
        var queue = new UploadQueue(Path.Combine(_data.Root, "by-bytes"), new UploadQueueLimits { MaxBytes = 800_000, MaxFailed = 2 });
        var time = 1_000L;
        // About 230 KB gzip'ed each: random bytes in base64 hardly compress.
        IReadOnlyList<string> Put(UploadKind kind, string id, bool sampled, int bytes) =>
            queue.Enqueue(new UploadEntryInfo { Kind = kind, Id = id, AppId = "chat", Sampled = sampled, QueuedAt = time++ },
                JsonSerializer.SerializeToUtf8Bytes(new { pad = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes * 3 / 4)) })).Dropped;
        long QueueBytes() => Directory.EnumerateFiles(queue.Directory, "*.upload").Sum(file => new FileInfo(file).Length);

        Assert.Empty(Put(UploadKind.Launch, "l1", false, 200));
        Assert.Empty(Put(UploadKind.Report, "b1", true, 300_000));
        Assert.Empty(Put(UploadKind.Report, "b2", true, 300_000));
        Assert.Empty(Put(UploadKind.Report, "x1", false, 300_000));
        Assert.Equal(["report-b1"], Put(UploadKind.Report, "b3", true, 300_000));
        Assert.Equal(["report-b2"], Put(UploadKind.Report, "x2", false, 300_000));
        Assert.True(QueueBytes() <= 800_000, $"{QueueBytes()} bytes queued");
        Assert.Equal(["l1", "x1", "b3", "x2"], queue.Entries().Select(entry => entry.Info.Id));

        // Refused for good three times: failed/ keeps the newest two, each with its reason.
        var entries = queue.Entries();
        for (var i = 0; i < 3; i++)
        {
            File.SetLastWriteTimeUtc(entries[i].Path, DateTime.UtcNow.AddMinutes(i - 10));
            queue.Fail(entries[i], $"400 refused {i}");
        }
        Assert.Equal(["report-b3.upload", "report-b3.upload.reason", "report-x1.upload", "report-x1.upload.reason"],
            Directory.GetFiles(queue.FailedDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AQueuedReportSurvivesARestartAndIsSentGzipedWithTheKey()
    {
        var report = Report("r-restart");
        using (var before = Client(new Uri("http://127.0.0.1:9/")))
            before.EnqueueReport(report, sampled: false);
        // A crash here: nothing sent yet. The queue is read again by a new process.

        using var server = new ScriptedHttpServer(_ => new Answer(202, "{\"status\":\"stored\"}"));
        using var after = Client(server.Url);
        Assert.Single(after.Queue.Entries());
        var result = await after.FlushAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal(1, result.Sent);
        Assert.Equal(0, result.Remaining);
        Assert.Empty(after.Queue.Entries());
        var request = Assert.Single(server.Requests);
        Assert.Equal(("POST", "/api/v1/reports", "gzip", $"Bearer {Key}"), (request.Method, request.PathAndQuery, request.ContentEncoding, request.Authorization));
        var sent = ReportReader.Parse(request.Body, "upload");
        Assert.Equal(JsonSerializer.Serialize(report, ReportJson.Compact), JsonSerializer.Serialize(sent, ReportJson.Compact));
    }

    [Fact]
    public void EnqueuingTheSameReportTwiceKeepsOneEntryAndAHalfWrittenFileIsNoEntry()
    {
        using var client = Client(new Uri("http://127.0.0.1:9/"));
        client.EnqueueReport(Report("r-twice"), sampled: false);
        client.EnqueueReport(Report("r-twice"), sampled: false);
        // What a crash in the middle of an enqueue leaves: a temporary file, never read as an entry.
        File.WriteAllBytes(Path.Combine(client.Queue.Directory, ".report-r-cut.upload.123.tmp"), [1, 2, 3]);
        // A damaged entry is set aside with the reason, not sent and not lost.
        File.WriteAllBytes(Path.Combine(client.Queue.Directory, "report-r-bad.upload"), [1, 2, 3]);

        var entries = client.Queue.Entries();
        Assert.Equal("r-twice", Assert.Single(entries).Info.Id);
        Assert.True(File.Exists(Path.Combine(client.Queue.FailedDirectory, "report-r-bad.upload")));
        Assert.Contains("not a whole queue entry", File.ReadAllText(Path.Combine(client.Queue.FailedDirectory, "report-r-bad.upload.reason")));
    }

    [Fact]
    public async Task UnavailableAnswersAreRetriedWithBackoffUntilAccepted()
    {
        var calls = 0;
        using var server = new ScriptedHttpServer(_ => Interlocked.Increment(ref calls) <= 2 ? new Answer(503) : new Answer(202));
        using var client = Client(server.Url);
        client.EnqueueReport(Report("r-retry"), sampled: false);

        var result = await client.FlushAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal(1, result.Sent);
        Assert.Equal(3, server.Requests.Count);
        Assert.Empty(client.Queue.Entries());
    }

    [Fact]
    public async Task TooManyRequestsWaitsAsLongAsRetryAfterSays()
    {
        var calls = 0;
        using var server = new ScriptedHttpServer(_ => Interlocked.Increment(ref calls) == 1 ? new Answer(429, RetryAfter: TimeSpan.FromSeconds(1)) : new Answer(202));
        using var client = Client(server.Url);
        client.EnqueueReport(Report("r-429"), sampled: false);

        var clock = Stopwatch.StartNew();
        var result = await client.FlushAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal(1, result.Sent);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"retried after {clock.Elapsed}");
    }

    [Fact]
    public async Task AMalformedAnswerIsNotRetriedAndTheEntryIsKeptAsideWithTheReason()
    {
        using var server = new ScriptedHttpServer(_ => new Answer(400, "{\"error\":\"items[0].size is negative\"}"));
        using var client = Client(server.Url);
        client.EnqueueReport(Report("r-400"), sampled: false);

        var result = await client.FlushAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Single(server.Requests);
        var failure = Assert.Single(result.Failed);
        Assert.Contains("items[0].size is negative", failure);
        Assert.Empty(client.Queue.Entries());
        Assert.Contains("400", File.ReadAllText(Path.Combine(client.Queue.FailedDirectory, "report-r-400.upload.reason")));
    }

    [Fact]
    public async Task ARefusedKeyStopsTheFlushAndKeepsEverything()
    {
        using var server = new ScriptedHttpServer(_ => new Answer(401, "{\"error\":\"missing or unknown ingest key\"}"));
        using var client = Client(server.Url);
        client.EnqueueReport(Report("r-a"), sampled: false);
        client.EnqueueReport(Report("r-b"), sampled: false);

        var result = await client.FlushAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Single(server.Requests);
        Assert.Contains("refused the ingest key", result.StoppedBecause);
        Assert.Equal(2, result.Remaining);
        Assert.Equal(2, client.Queue.Entries().Count);
    }

    [Fact]
    public async Task AnUnreachableServerLeavesTheQueueForNextTime()
    {
        using var client = Client(new Uri($"http://127.0.0.1:{LoopbackPort.Free()}/"), maxAttempts: 3);
        client.EnqueueReport(Report("r-down"), sampled: false);

        var result = await client.FlushAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Contains("cannot reach", result.StoppedBecause);
        Assert.Equal(1, result.Remaining);
        Assert.Single(client.Queue.Entries());
    }

    [Fact]
    public async Task SentTwiceIsHarmless()
    {
        using var server = new ScriptedHttpServer(_ => new Answer(200, "{\"status\":\"duplicate\"}"));
        using var client = Client(server.Url);
        client.EnqueueReport(Report("r-dup"), sampled: false);
        var result = await client.FlushAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.Equal((0, 1), (result.Sent, result.Duplicates));
        Assert.Empty(client.Queue.Entries());
    }

    [Fact]
    public async Task TheSamplingPolicyDecidesAutomaticReportsButNotLaunchesOrExplicitUploads()
    {
        using var server = new ScriptedHttpServer(request => request.PathAndQuery.StartsWith("/api/v1/policy", StringComparison.Ordinal)
            ? new Answer(200, "{\"upload\":false,\"why\":\"not sampled\",\"sample_rate\":0.01}")
            : new Answer(202));
        using var client = Client(server.Url);
        client.EnqueueReport(Report("r-auto"), sampled: true);
        client.EnqueueReport(Report("r-explicit"), sampled: false);
        client.EnqueueLaunch(new LaunchRecord { LaunchId = "l-1", AppId = "chat", AppVersion = "1.2.3", DeviceId = "host-1", UserId = "alice", PrevExitReason = "foreground_oom", PrevExitHow = "observed", LaunchTime = 1 });

        var result = await client.FlushAsync(Deadline, TestContext.Current.CancellationToken);

        Assert.Equal((2, 1), (result.Sent, result.NotSampled));
        var paths = server.Requests.Select(r => r.PathAndQuery).ToList();
        Assert.Contains("/api/v1/policy?app=chat&device=host-1&user=alice&version=1.2.3", paths);
        Assert.Equal(1, paths.Count(p => p == "/api/v1/reports"));
        Assert.Equal(1, paths.Count(p => p == "/api/v1/launches"));
        var launch = JsonDocument.Parse(server.Requests.Single(r => r.PathAndQuery == "/api/v1/launches").Body).RootElement;
        Assert.Equal("foreground_oom", launch.GetProperty("prev_exit_reason").GetString());
        Assert.Empty(client.Queue.Entries());
    }

    [Fact]
    public async Task OneFlushAtATime()
    {
        using var client = Client(new Uri("http://127.0.0.1:9/"));
        client.EnqueueReport(Report("r-lock"), sampled: false);
        using var held = new FileStream(Path.Combine(client.Queue.Directory, ".flush.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        var result = await client.FlushAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.Contains("another flush", result.StoppedBecause);
        Assert.Equal(1, result.Remaining);
    }
}
