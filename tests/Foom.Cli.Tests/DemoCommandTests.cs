using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Foom.Testing;
using Foom.Server;
using Foom.Storage.Sessions;

namespace Foom.Cli.Tests;

/// <summary>
/// `foom demo` end to end: the real command starts the real server, the bundled sample is killed
/// by the kernel in a real memory cgroup, and what the newcomer is told to look at is really stored.
/// </summary>
public sealed partial class DemoCommandTests : IDisposable
{
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task TheDemoUploadsTheReportsOfItsKilledSampleAndSaysWhereToLook()
    {
        var port = LoopbackPort.Free();
        var result = await _foom.RunAsync("demo", "--urls", $"http://127.0.0.1:{port}", "--no-serve");
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("4 runs, 3 killed for memory", result.Output);
        Assert.Contains($"foom demo: open http://127.0.0.1:{port}/apps/demo-chat", result.Output);
        var password = LoginLine().Match(result.Output);
        Assert.True(password.Success, result.Describe());
        var ingestKey = IngestKeyLine().Match(result.Output);
        Assert.True(ingestKey.Success, result.Describe());

        var sessions = _foom.Sessions("demo-chat").Select(_foom.Info).ToList();
        Assert.Equal(["exit", "foreground_oom", "foreground_oom", "foreground_oom"], sessions.Select(s => s.End?.ExitReason));
        Assert.All(sessions, s => Assert.Equal("observed", s.End?.How));

        // What the demo stored is what a server over the same data directory shows: the ChatRoom
        // cache and the Gallery decode as two issues, the launches counted for the FOOM rate.
        var options = new FoomServerOptions
        {
            Data = DataDirectory.Resolve(_foom.DataDirectory),
            Urls = ["http://127.0.0.1:0"],
            AdminToken = "demo-test-token",
            AdminPassword = password.Groups[1].Value,
            IngestKey = ingestKey.Groups[1].Value,
            ConsoleLogging = false,
            Print = _ => { },
        };
        await using var server = await FoomServer.StartAsync(options, TestContext.Current.CancellationToken);
        using var api = new HttpClient { BaseAddress = server.Url };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.AdminToken);
        using var issues = JsonDocument.Parse(await api.GetStringAsync("api/v1/apps/demo-chat/issues", TestContext.Current.CancellationToken));
        // First level by Caller1 (the second level also splits by the reason's wording, which
        // depends on how close to the kill the last footprint sample came).
        var reportsByCaller = issues.RootElement.EnumerateArray()
            .GroupBy(g => g.GetProperty("caller1").GetString() ?? "")
            .ToDictionary(g => g.Key, g => g.Sum(issue => issue.GetProperty("reports").GetInt32()));
        Assert.True(reportsByCaller.Count == 2, $"expected the ChatRoom cache and the Gallery decode as two first-level issues:\n{issues.RootElement}");
        Assert.Equal(2, reportsByCaller.Single(c => c.Key.Contains("load_message", StringComparison.Ordinal)).Value);
        Assert.Equal(1, reportsByCaller.Single(c => c.Key.Contains("decode_photo_full_size", StringComparison.Ordinal)).Value);
        using var apps = JsonDocument.Parse(await api.GetStringAsync("api/v1/apps", TestContext.Current.CancellationToken));
        var app = apps.RootElement.EnumerateArray().Single(a => a.GetProperty("app").GetString() == "demo-chat");
        Assert.Equal(4, app.GetProperty("launches").GetInt32());
        // The key the demo printed is the one its server takes uploads with.
        using var launch = new HttpRequestMessage(HttpMethod.Post, "api/v1/launches")
        {
            Content = new StringContent("""{"app_id":"demo-chat","prev_exit_reason":"exit"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        launch.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ingestKey.Groups[1].Value);
        Assert.Equal(HttpStatusCode.Accepted, (await api.SendAsync(launch, TestContext.Current.CancellationToken)).StatusCode);

        // A second demo on the same data directory keeps its login, so its output stays true.
        await server.DisposeAsync();
        var again = await _foom.RunAsync("demo", "--urls", $"http://127.0.0.1:{LoopbackPort.Free()}", "--no-serve");
        Assert.True(again.ExitCode == 0, again.Describe());
        Assert.Equal(password.Groups[1].Value, LoginLine().Match(again.Output).Groups[1].Value);
    }

    [Fact]
    public async Task ABusyPortIsAClearErrorAndNothingRuns()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var result = await _foom.RunAsync("demo", "--urls", $"http://127.0.0.1:{port}", "--no-serve");
        Assert.True(result.ExitCode == 1, result.Describe());
        Assert.Contains($"{port}", result.Errors);
        Assert.Empty(_foom.Sessions("demo-chat"));
    }

    [GeneratedRegex(@"(?m)^foom demo: login: user 'admin', password '([^']+)'\r?$")]
    private static partial Regex LoginLine();

    [GeneratedRegex(@"(?m)^foom demo: ingest key '([^']+)': ")]
    private static partial Regex IngestKeyLine();

    public void Dispose() => _foom.Dispose();
}
