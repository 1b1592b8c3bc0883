using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Dapper;
using Foom.Server.Data;
using Foom.Server.Tests.Support;
using Foom.Testing;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>
/// `foom serve` in its own process, SIGKILLed in the middle of a load, then started again on the
/// same data: every upload that was answered with a 2xx is there.
/// </summary>
public sealed class CrashTests
{
    private sealed class ServeProcess(Process process, Uri url, StringBuilder output) : IDisposable
    {
        public Process Process { get; } = process;
        public Uri Url { get; } = url;
        public string Output => output.ToString();

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }

    private static async Task<ServeProcess> StartServeAsync(string data, string? db)
    {
        var url = new Uri($"http://127.0.0.1:{LoopbackPort.Free()}");
        string[] arguments = ["serve", "--urls", url.ToString(), "--data", data, .. db is null ? Array.Empty<string>() : ["--db", db]];
        var foom = new FoomCli(data)
        {
            Environment =
            {
                ["FOOM_INGEST_KEY"] = TestServer.IngestKey,
                ["FOOM_ADMIN_TOKEN"] = TestServer.AdminToken,
                ["FOOM_ADMIN_PASSWORD"] = TestServer.AdminPassword,
            },
        };
        var output = new StringBuilder();
        var process = foom.Start(arguments);
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"foom serve exited with {process.ExitCode}:\n{output}");
            try
            {
                if ((await client.GetAsync(new Uri(url, "/healthz"))).IsSuccessStatusCode) return new ServeProcess(process, url, output);
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        process.Kill(true);
        throw new TimeoutException($"foom serve did not answer /healthz within 90 s:\n{output}");
    }

    [Theory, InlineData("sqlite"), InlineData("postgres")]
    public async Task EveryAcknowledgedUploadSurvivesASigkillOfTheServer(string kind)
    {
        var data = Path.Combine(Path.GetTempPath(), "foom-crash-" + Guid.NewGuid().ToString("N"));
        string? pgName = null, db = null;
        if (kind == "postgres") (pgName, db) = await TestServer.CreatePostgresDatabaseAsync();
        try
        {
            var acknowledged = new ConcurrentBag<string>();
            var refused = 0;
            using (var server = await StartServeAsync(data, db))
            {
                using var client = new HttpClient { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(30) };
                using var stop = new CancellationTokenSource();
                var body = Json(Linux("template", items: [Item("Malloc 1.00 MiB", 100L << 20, 100, Stack(100L << 20, 100, "decode", "main")), Item("Malloc 48 Bytes", 4800, 100)]));
                var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
                {
                    for (var i = 0; !stop.IsCancellationRequested && i < 100_000; i++)
                    {
                        var id = $"crash-{w}-{i}";
                        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/reports") { Content = new ByteArrayContent(TestServer.Gzip(Encoding.UTF8.GetBytes(body.Replace("\"template\"", $"\"{id}\"")))) };
                        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestServer.IngestKey);
                        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                        request.Content.Headers.ContentEncoding.Add("gzip");
                        try
                        {
                            var response = await client.SendAsync(request);
                            if (response.IsSuccessStatusCode) acknowledged.Add(id);
                        }
                        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                        {
                            Interlocked.Increment(ref refused);
                            if (server.Process.HasExited) await Task.Delay(50);
                        }
                    }
                })).ToArray();
                // Kill in the middle of the load, once a good number of uploads were acknowledged.
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (acknowledged.Count < 150 && DateTime.UtcNow < deadline) await Task.Delay(20);
                server.Process.Kill(); // SIGKILL
                await server.Process.WaitForExitAsync();
                await Task.Delay(500);
                stop.Cancel();
                await Task.WhenAll(workers);
            }
            Assert.True(acknowledged.Count >= 150, $"only {acknowledged.Count} uploads were acknowledged before the kill");
            Assert.True(refused > 0, "the kill interrupted no upload: it did not happen during the load");

            // Started again on the same data, it has every acknowledged report and takes new ones.
            using var restarted = await StartServeAsync(data, db);
            var database = Database.FromSetting(db, Path.Combine(data, "server", "foom.db"));
            HashSet<string> stored;
            using (var connection = database.Open())
                stored = connection.Query<string>("SELECT report_id FROM reports").ToHashSet();
            var missing = acknowledged.Where(id => !stored.Contains(id)).ToList();
            Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged uploads are missing, e.g. {string.Join(", ", missing.Take(5))}");
            using var after = new HttpClient { BaseAddress = restarted.Url };
            var again = new HttpRequestMessage(HttpMethod.Post, "/api/v1/reports") { Content = new StringContent(Json(Linux("after-restart", items: [Item("x", 1, 1)])), Encoding.UTF8, "application/json") };
            again.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestServer.IngestKey);
            Assert.Equal(HttpStatusCode.Accepted, (await after.SendAsync(again)).StatusCode);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (pgName is not null) await TestServer.DropPostgresDatabaseAsync(pgName);
            if (Directory.Exists(data)) Directory.Delete(data, true);
        }
    }
}
