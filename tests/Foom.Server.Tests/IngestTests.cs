using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Foom.Server.Auth;
using Foom.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>The upload side against a real server, on SQLite and on PostgreSQL.</summary>
public sealed class IngestTests
{
    public static TheoryData<string> Databases => ["sqlite", "postgres"];

    private static string Report1(string id = "r-1", string app = "demo-app") =>
        Json(Linux(id, app, items: [Item("Malloc 1.00 MiB", 400L << 20, 400, Stack(400L << 20, 400, "load_contacts", "main")), Item("Malloc 48 Bytes", 48_000, 1000)]));

    [Theory, MemberData(nameof(Databases))]
    public async Task AReportWithTheKeyIsStoredOnceAndGetsAnEigenvalue(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        var first = await server.PostJsonAsync("/api/v1/reports", Report1(), gzip: true);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var again = await server.PostJsonAsync("/api/v1/reports", Report1());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains("duplicate", await again.Content.ReadAsStringAsync());

        using var connection = server.Handle.Database.Open();
        Assert.Equal(1, connection.ExecuteScalar<long>("SELECT COUNT(*) FROM reports WHERE report_id = 'r-1'"));
        var stored = await server.GetAdminAsync("/api/v1/reports/r-1");
        var json = JsonDocument.Parse(await stored.Content.ReadAsStringAsync()).RootElement;
        var eigen = json.GetProperty("eigenvalue");
        Assert.Equal("load_contacts (demo)", eigen.GetProperty("caller1").GetString());
        Assert.Equal("main (demo)", eigen.GetProperty("caller2").GetString());
        Assert.Equal("Malloc 1.00 MiB", eigen.GetProperty("category").GetString());
        Assert.Equal("share_of_footprint", eigen.GetProperty("reason_kind").GetString());
        Assert.Equal("400 MiB, 100 % of the footprint", eigen.GetProperty("reason").GetString());

        // The raw upload is kept whole, so the report can be analysed again.
        var raw = await server.GetAdminAsync("/api/v1/reports/r-1?raw=true");
        Assert.Equal(Report1(), await raw.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task EachReportIsServedAsPprofThatGoToolPprofReads()
    {
        await using var server = await TestServer.StartAsync("sqlite");
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Report1())).StatusCode);

        var response = await server.GetAdminAsync("/api/v1/reports/r-1/pprof");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("r-1.pb.gz", response.Content.Headers.ContentDisposition?.FileName);
        var profile = Foom.Report.Tests.Support.GoPprof.Read(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal((400L << 20) + 48_000, profile.Total("inuse_space/bytes"));
        Assert.Equal(1400, profile.Total("inuse_objects/count"));
        Assert.Contains(profile.Locations.Values, l => l.Contains("load_contacts", StringComparison.Ordinal));
        Assert.All(profile.Samples, s => Assert.Contains("app:[demo-app]", s.Labels, StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.NotFound, (await server.GetAdminAsync("/api/v1/reports/no-such/pprof")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.GetAsync("/api/v1/reports/r-1/pprof")).StatusCode);
    }

    /// <summary>
    /// Uploads are read into pooled buffers that go back to the pool before the commit: uploads
    /// in flight together, of sizes that make the buffers grow, gzip'ed and plain, must each be
    /// stored as sent, none with another's bytes.
    /// </summary>
    [Fact]
    public async Task ManyUploadsAtOnceAreEachStoredAsSent()
    {
        await using var server = await TestServer.StartAsync("sqlite");
        var reports = Enumerable.Range(0, 48).Select(i =>
        {
            var stacks = Enumerable.Range(0, 1 + i % 7 * 150).Select(s => Stack(1000 + s, 1, $"fill_{i}_{s}", "main")).ToArray();
            return (Id: $"many-{i}", Json: Json(Linux($"many-{i}", items: [Item($"Malloc {i + 1}.00 MiB", (i + 1L) << 20, 1, stacks)])));
        }).ToArray();
        Assert.Contains(reports, r => r.Json.Length > 200_000);

        var statuses = await Task.WhenAll(reports.Select((r, i) => Task.Run(async () => (await server.PostJsonAsync("/api/v1/reports", r.Json, gzip: i % 2 == 0)).StatusCode)));
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Accepted, s));
        foreach (var (id, json) in reports)
        {
            var raw = await server.GetAdminAsync($"/api/v1/reports/{id}?raw=true");
            Assert.True(json == await raw.Content.ReadAsStringAsync(), $"the stored upload of {id} differs from what was sent");
        }
    }

    [Theory, MemberData(nameof(Databases))]
    public async Task KeysDecideWhoMayUploadAndRead(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.PostJsonAsync("/api/v1/reports", Report1(), key: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.PostJsonAsync("/api/v1/reports", Report1(), key: "wrong")).StatusCode);

        var keys = server.Handle.Services.GetRequiredService<IngestKeys>();
        var appKey = keys.Create("demo-app", "ci");
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Report1("k-1"), key: appKey)).StatusCode);
        var otherApp = await server.PostJsonAsync("/api/v1/reports", Report1("k-2", "other-app"), key: appKey);
        Assert.Equal(HttpStatusCode.Unauthorized, otherApp.StatusCode);
        Assert.Contains("other-app", await otherApp.Content.ReadAsStringAsync());

        // Only the hash is stored, never the key.
        using (var connection = server.Handle.Database.Open())
        {
            var hashes = connection.Query<string>("SELECT key_hash FROM ingest_keys").ToList();
            Assert.DoesNotContain(appKey, hashes);
            Assert.Contains(IngestKeys.HashOf(appKey), hashes);
        }
        keys.Revoke(keys.List().Single().Id);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.PostJsonAsync("/api/v1/reports", Report1("k-3"), key: appKey)).StatusCode);

        // The read API wants the admin token, not an ingest key.
        var withIngestKey = server.Ingest(HttpMethod.Get, "/api/v1/apps/demo-app/issues");
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.SendAsync(withIngestKey)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.GetAdminAsync("/api/v1/apps/demo-app/issues")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task BadUploadsGetTheRightStatusAndSayWhy()
    {
        await using var server = await TestServer.StartAsync("sqlite", o => o.ReportLimits = new(MaxBodyBytes: 1 << 20, MaxDecompressedBytes: 8 << 20, MaxRatio: 100));
        var missingApp = await server.PostJsonAsync("/api/v1/reports", """{"head":{"report_id":"x"},"items":[]}""");
        Assert.Equal(HttpStatusCode.BadRequest, missingApp.StatusCode);
        Assert.Contains("head.app_id", await missingApp.Content.ReadAsStringAsync());

        var wrongType = await server.PostJsonAsync("/api/v1/reports", """{"head":{"app_id":"a","report_id":"x"},"items":[{"name":"n","size":"big"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Contains("$.items[0].size", await wrongType.Content.ReadAsStringAsync());

        var hostileApp = await server.PostJsonAsync("/api/v1/reports", """{"head":{"app_id":"../../etc","report_id":"x"},"items":[]}""");
        Assert.Equal(HttpStatusCode.BadRequest, hostileApp.StatusCode);

        var bomb = new HttpRequestMessage(HttpMethod.Post, "/api/v1/reports") { Content = new ByteArrayContent(TestServer.Gzip(new byte[100 << 20], smallest: true)) };
        bomb.Headers.Authorization = new("Bearer", TestServer.IngestKey);
        bomb.Content.Headers.ContentEncoding.Add("gzip");
        var bombResponse = await server.Client.SendAsync(bomb);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bombResponse.StatusCode);
        Assert.Contains("decompression bomb", await bombResponse.Content.ReadAsStringAsync());

        var tooLarge = await server.PostJsonAsync("/api/v1/reports", "[" + new string(' ', 2 << 20) + "]");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);

        var form = server.Ingest(HttpMethod.Post, "/api/v1/reports");
        form.Content = new StringContent("a=b", Encoding.UTF8, "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await server.Client.SendAsync(form)).StatusCode);

        var deep = """{"head":{"app_id":"a","report_id":"deep","x":""" + string.Concat(Enumerable.Repeat("""{"a":""", 5000)) + "1" + new string('}', 5002) + ""","items":[]}""";
        var deepResponse = await server.PostJsonAsync("/api/v1/reports", deep);
        Assert.Equal(HttpStatusCode.BadRequest, deepResponse.StatusCode);
        Assert.Contains("depth", await deepResponse.Content.ReadAsStringAsync());

        using var connection = server.Handle.Database.Open();
        Assert.Equal(0, connection.ExecuteScalar<long>("SELECT COUNT(*) FROM reports"));
    }

    [Fact]
    public async Task OverTheRateTheServerAnswers429()
    {
        await using var server = await TestServer.StartAsync("sqlite", o => { o.IngestRatePerSecond = 1; o.IngestBurst = 3; });
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++) statuses.Add((await server.PostJsonAsync("/api/v1/reports", Report1("rate-" + i))).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.True(statuses.Count(s => s == HttpStatusCode.Accepted) >= 3, string.Join(",", statuses));
    }

    [Theory, MemberData(nameof(Databases))]
    public async Task MatrixReportsAreClassifiedByTheirUuidAtOffsetCallers(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        var response = await server.PostJsonAsync("/api/v1/matrix/memstat?app=wechat", Matrix(), gzip: true);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("report_id").GetString()!;
        Assert.StartsWith("sha256:", id);
        Assert.Equal(HttpStatusCode.OK, (await server.PostJsonAsync("/api/v1/matrix/memstat?app=wechat", Matrix())).StatusCode);

        var missingApp = await server.PostJsonAsync("/api/v1/matrix/memstat", Matrix());
        Assert.Equal(HttpStatusCode.BadRequest, missingApp.StatusCode);

        var report = JsonDocument.Parse(await (await server.GetAdminAsync("/api/v1/reports/" + id)).Content.ReadAsStringAsync()).RootElement;
        var eigen = report.GetProperty("eigenvalue");
        Assert.Equal("UIImage", eigen.GetProperty("category").GetString());
        Assert.Equal("5D3A1B2C9E8F4A7B8C6D5E4F3A2B1C0D@1052672", eigen.GetProperty("caller1").GetString());
        Assert.Equal("5D3A1B2C9E8F4A7B8C6D5E4F3A2B1C0D@1060000", eigen.GetProperty("caller2").GetString());
        Assert.Equal("iPhone12,1", report.GetProperty("phone").GetString());
        Assert.Equal("8.0.1", report.GetProperty("version").GetString());
    }
}
