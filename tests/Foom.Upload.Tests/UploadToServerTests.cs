using System.Net.Http.Headers;
using System.Text.Json;
using Foom.Report.Tests.Support;
using Foom.Testing;
using Foom.Upload.Tests.Support;
using Foom.Upload;
using Foom.Server;
using Foom.Storage.Sessions;

namespace Foom.Upload.Tests;

/// <summary>The upload client against the real `foom serve`, in process on 127.0.0.1 and a free port, over SQLite.</summary>
public class UploadToServerTests : IAsyncLifetime
{
    private const string IngestKey = "report-tests-ingest-key-0123";
    private const string AdminToken = "report-tests-admin-token-0123";
    private readonly DataDirectory _client = new(Directory.CreateTempSubdirectory("foom-upload-client-").FullName);
    private readonly string _serverRoot = Directory.CreateTempSubdirectory("foom-upload-server-").FullName;
    private FoomServerHandle? _server;

    public async ValueTask InitializeAsync()
    {
        _server = await FoomServer.StartAsync(new FoomServerOptions
        {
            Data = new DataDirectory(_serverRoot),
            Urls = [$"http://127.0.0.1:{LoopbackPort.Free()}"],
            IngestKey = IngestKey,
            AdminToken = AdminToken,
            AdminPassword = "report-tests-password",
            ConsoleLogging = false,
            Print = _ => { },
        }, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        Directory.Delete(_client.Root, recursive: true);
        Directory.Delete(_serverRoot, recursive: true);
    }

    private Uploader Client(string key = IngestKey) => new(UploadQueue.In(_client), new UploaderOptions
    {
        Server = _server!.Url,
        IngestKey = key,
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        MaxAttempts = 3,
    });

    [Fact]
    public async Task ReportsAndLaunchesAreStoredOnceAndTheDefaultPolicyLetsThemThrough()
    {
        var cancel = TestContext.Current.CancellationToken;
        var report = TestHeap.LinuxReport();
        report.Head.ReportId = "session-0001";
        report.Head.AppVersion = "2.0.0";
        report.Head.DeviceId = "host-a";
        report.Head.ExitReason = "foreground_oom";
        report.Head.ExitHow = "observed";
        using (var client = Client())
        {
            client.EnqueueReport(report, sampled: true);
            client.EnqueueLaunch(new LaunchRecord { LaunchId = "launch-0002", AppId = "chat", AppVersion = "2.0.0", DeviceId = "host-a", LaunchTime = 1_760_000_000_000, PrevExitReason = "foreground_oom", PrevExitHow = "observed" });
            var first = await client.FlushAsync(TimeSpan.FromSeconds(60), cancel);
            Assert.Equal((2, 0, 0), (first.Sent, first.Duplicates, first.NotSampled));
            Assert.Empty(first.Failed);

            // The same report again (a crash after the server stored it, before the entry was removed).
            client.EnqueueReport(report, sampled: false);
            var again = await client.FlushAsync(TimeSpan.FromSeconds(60), cancel);
            Assert.Equal((0, 1), (again.Sent, again.Duplicates));
        }

        using var http = new HttpClient { BaseAddress = _server!.Url };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        var issues = JsonDocument.Parse(await http.GetStringAsync("api/v1/apps/chat/issues", cancel)).RootElement;
        Assert.Equal(1, issues.EnumerateArray().Sum(i => i.GetProperty("reports").GetInt32()));
    }

    [Fact]
    public async Task AWrongKeyIsRefusedAndNothingIsLost()
    {
        using var client = Client("not-the-key");
        client.EnqueueReport(TestHeap.LinuxReport(), sampled: false);
        var result = await client.FlushAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.Contains("refused the ingest key", result.StoppedBecause);
        Assert.Single(client.Queue.Entries());
    }
}
