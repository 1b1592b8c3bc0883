using System.Net;
using System.Text;
using System.Text.Json;
using Foom.Server.Tests.Support;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>Issues, launches and rates, the policy and JetsamEvent logs, through the HTTP API, on both databases.</summary>
public sealed class ApiTests
{
    public static TheoryData<string> Databases => ["sqlite", "postgres"];

    [Theory, MemberData(nameof(Databases))]
    public async Task IssuesAreSecondLevelGroupsSortedByReportsThenBytes(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        // Three reports of one cause over two versions and two devices, one of another cause.
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Linux($"img-{i}", version: i < 2 ? "1.0" : "1.1", device: $"host-{i % 2}", user: $"u{i}",
                items: [Item("Malloc 8.00 MiB", (100L + i) << 20, 12, Stack((100L + i) << 20, 12, "decode_image", "show_gallery"))])))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Linux("cache-0",
            items: [Item("Malloc 64 Bytes", 900L << 20, 9_000_000, Stack(900L << 20, 9_000_000, "LruCache::put", "serve"))])))).StatusCode);

        var issues = JsonDocument.Parse(await (await server.GetAdminAsync("/api/v1/apps/demo-app/issues")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, issues.GetArrayLength());
        var first = issues[0];
        Assert.Equal("decode_image (demo)", first.GetProperty("caller1").GetString());
        Assert.Equal("show_gallery (demo)", first.GetProperty("caller2").GetString());
        Assert.Equal("Malloc 8.00 MiB", first.GetProperty("category").GetString());
        Assert.Equal(3, first.GetProperty("reports").GetInt64());
        Assert.Equal(2, first.GetProperty("devices").GetInt64());
        Assert.Equal(3, first.GetProperty("users").GetInt64());
        Assert.Equal(["1.0", "1.1"], first.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        Assert.Contains("102 MiB", first.GetProperty("reason").GetString());
        Assert.True(first.GetProperty("first_seen").GetInt64() <= first.GetProperty("last_seen").GetInt64());
        Assert.Contains(first.GetProperty("hints").EnumerateArray(), h => h.GetProperty("id").GetString() == "big-image-decode");
        var second = issues[1];
        Assert.Equal(1, second.GetProperty("reports").GetInt64());
        Assert.Contains(second.GetProperty("hints").EnumerateArray(), h => h.GetProperty("id").GetString() == "unbounded-cache");

        var ofIssue = JsonDocument.Parse(await (await server.GetAdminAsync($"/api/v1/apps/demo-app/issues/{first.GetProperty("issue").GetString()}/reports")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(["img-2", "img-1", "img-0"], ofIssue.EnumerateArray().Select(r => r.GetProperty("report_id").GetString()));

        var reanalyzed = JsonDocument.Parse(await (await server.PostAdminAsync("/api/v1/apps/demo-app/reanalyze")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(4, reanalyzed.GetProperty("reports").GetInt32());
        Assert.Equal(0, reanalyzed.GetProperty("issues_changed").GetInt32());
    }

    [Theory, MemberData(nameof(Databases))]
    public async Task LaunchRecordsGiveFoomWatchdogAndCrashRatesPerDayAndVersion(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var records = new List<object>();
        string[] reasons = ["foreground_oom", "foreground_oom", "watchdog", "crash", "exit", "user_quit", "first_run", "exit"];
        for (var i = 0; i < reasons.Length; i++)
            records.Add(new { launch_id = $"l-{i}", app_id = "demo-app", app_version = "2.0", device_id = $"d{i}", launch_time = now, prev_exit_reason = reasons[i], prev_exit_how = "inferred" });
        var response = await server.PostJsonAsync("/api/v1/launches", JsonSerializer.Serialize(records));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // A retry of the same records is stored once.
        var retry = await server.PostJsonAsync("/api/v1/launches", JsonSerializer.Serialize(records));
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Contains("\"duplicates\":8", await retry.Content.ReadAsStringAsync());

        var bad = await server.PostJsonAsync("/api/v1/launches", """{"app_id":"demo-app","prev_exit_reason":"eaten_by_bears"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("prev_exit_reason", await bad.Content.ReadAsStringAsync());

        var rates = JsonDocument.Parse(await (await server.GetAdminAsync("/api/v1/apps/demo-app/rates?days=7")).Content.ReadAsStringAsync()).RootElement;
        var row = Assert.Single(rates.EnumerateArray());
        Assert.Equal("2.0", row.GetProperty("version").GetString());
        Assert.Equal(8, row.GetProperty("launches").GetInt64());
        // The first_run launch had no previous run: the rates are over the other seven.
        Assert.Equal(7, row.GetProperty("previous_runs").GetInt64());
        Assert.Equal(2.0 / 7, row.GetProperty("foom_rate").GetDouble(), 12);
        Assert.Equal(1.0 / 7, row.GetProperty("watchdog_rate").GetDouble(), 12);
        Assert.Equal(1.0 / 7, row.GetProperty("crash_rate").GetDouble(), 12);
    }

    [Fact]
    public async Task ThePolicySamplesStablyAndAlwaysTakesWhitelistsAndGrayVersions()
    {
        await using var server = await TestServer.StartAsync("sqlite");
        async Task<JsonElement> Policy(string query)
        {
            var response = await server.Client.SendAsync(server.Ingest(HttpMethod.Get, "/api/v1/policy?" + query));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        }
        Assert.True((await Policy("app=demo-app&device=d1")).GetProperty("upload").GetBoolean());

        using (var connection = server.Handle.Database.Open())
            Foom.Server.Data.PolicyStore.Save(connection, new Foom.Server.Data.SamplingPolicy
            {
                AppId = "demo-app", SampleRate = 0.1, WhitelistUsers = ["vip"], WhitelistDevices = ["lab-1"], GrayVersions = ["3.0-beta"],
            });
        Assert.Equal("whitelisted user", (await Policy("app=demo-app&device=x&user=vip")).GetProperty("why").GetString());
        Assert.Equal("whitelisted device", (await Policy("app=demo-app&device=lab-1")).GetProperty("why").GetString());
        Assert.Equal("gray version", (await Policy("app=demo-app&device=x&version=3.0-beta")).GetProperty("why").GetString());
        var sampled = 0;
        for (var i = 0; i < 400; i++)
        {
            var first = (await Policy($"app=demo-app&device=dev{i}&version=1.0")).GetProperty("upload").GetBoolean();
            Assert.Equal(first, (await Policy($"app=demo-app&device=dev{i}&version=1.0")).GetProperty("upload").GetBoolean());
            if (first) sampled++;
        }
        Assert.InRange(sampled, 15, 75);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client.GetAsync("/api/v1/policy?app=demo-app")).StatusCode);
    }

    [Theory, MemberData(nameof(Databases))]
    public async Task JetsamLogsFeedTheDeviceLimitTable(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        var file = Path.Combine(AppContext.BaseDirectory, "Jetsam", "variants", "iOS16.2_iPhone13,2_per-process-limit_freeze-skip-reason.ips");
        var bytes = await File.ReadAllBytesAsync(file);
        var request = server.Ingest(HttpMethod.Post, "/api/v1/jetsam");
        request.Content = new ByteArrayContent(bytes);
        var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("per-process-limit", body.GetProperty("kill_reason").GetString());
        var limit = body.GetProperty("limit_bytes").GetInt64();
        Assert.True(limit > 0);

        var again = server.Ingest(HttpMethod.Post, "/api/v1/jetsam");
        again.Content = new ByteArrayContent(bytes);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(again)).StatusCode);

        var broken = server.Ingest(HttpMethod.Post, "/api/v1/jetsam");
        broken.Content = new StringContent("{\"bug_type\":\"298\"}\n{\"product\":", Encoding.UTF8, "text/plain");
        var brokenResponse = await server.Client.SendAsync(broken);
        Assert.Equal(HttpStatusCode.BadRequest, brokenResponse.StatusCode);

        // A Foom kill record with the limit the recorder knew.
        await server.PostJsonAsync("/api/v1/reports", Json(Linux("k1", limit: 512L << 20, items: [Item("Malloc 1.00 MiB", 500L << 20, 500)])));
        var limits = JsonDocument.Parse(await (await server.GetAdminAsync("/api/v1/device-limits")).Content.ReadAsStringAsync()).RootElement;
        var iphone = Assert.Single(limits.EnumerateArray(), l => l.GetProperty("device_model").GetString() == "iPhone13,2");
        Assert.Equal(limit, iphone.GetProperty("max_bytes").GetInt64());
        Assert.Equal(1, iphone.GetProperty("observations").GetInt64());
        var host = Assert.Single(limits.EnumerateArray(), l => l.GetProperty("device_model").GetString() == "test-host");
        Assert.Equal(512L << 20, host.GetProperty("max_bytes").GetInt64());
    }
}
