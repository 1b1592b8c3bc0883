using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Foom.Server.Tests.Support;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>
/// Hostile input at every ingest endpoint: garbage, truncations, wrong types, huge arrays, deep
/// nesting, gzip bombs and broken gzip, unknown fields, wrong content types, hostile app ids and
/// paths. Never a 5xx, and the server keeps serving. Seeded, so a failure reproduces.
/// </summary>
public sealed class FuzzTests
{
    private static readonly string[] Endpoints =
        ["/api/v1/reports", "/api/v1/matrix/memstat?app=fuzz", "/api/v1/launches", "/api/v1/jetsam", "/api/v1/symbols?name=f"];

    private static readonly string ValidReport = Json(Linux("fuzz-seed", app: "fuzz",
        items: [Item("Malloc 1.00 MiB", 10L << 20, 10, Stack(10L << 20, 10, "decode", "main")), Item("UIView", 1000, 20_000)]));

    [Fact]
    public async Task NoInputMakesTheServerAnswer5xxOrFall()
    {
        await using var server = await TestServer.StartAsync("sqlite", o =>
        {
            o.ReportLimits = new(MaxBodyBytes: 2 << 20, MaxDecompressedBytes: 8 << 20, MaxRatio: 100);
            o.SymbolLimits = new(MaxBodyBytes: 4 << 20, MaxDecompressedBytes: 8 << 20, MaxRatio: 50);
        });
        var random = new Random(20261123);
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();

        async Task Send(string path, byte[] body, string? contentType = "application/json", bool gzipHeader = false, string? key = TestServer.IngestKey, string what = "")
        {
            var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
            if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            if (contentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            if (gzipHeader) request.Content.Headers.ContentEncoding.Add("gzip");
            var response = await server.Client.SendAsync(request);
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            if (status >= 500) failures.Add($"{status} for {what} at {path}: {await response.Content.ReadAsStringAsync()}");
        }

        foreach (var path in Endpoints)
        {
            // Garbage and truncations of a valid report.
            for (var i = 0; i < 25; i++)
            {
                var garbage = new byte[random.Next(0, 4096)];
                random.NextBytes(garbage);
                await Send(path, garbage, what: "random bytes");
                var cut = ValidReport[..random.Next(0, ValidReport.Length)];
                await Send(path, Encoding.UTF8.GetBytes(cut), what: "a truncated report");
            }
            // Values of the wrong type in random places, and unknown fields.
            for (var i = 0; i < 40; i++)
                await Send(path, Encoding.UTF8.GetBytes(Mutate(ValidReport, random)), what: "a mutated report");
            // Deep nesting, huge arrays, numbers out of range, invalid UTF-8.
            await Send(path, Encoding.UTF8.GetBytes(new string('[', 100_000) + new string(']', 100_000)), what: "deep arrays");
            await Send(path, Encoding.UTF8.GetBytes("{\"head\":" + string.Concat(Enumerable.Repeat("{\"a\":", 2000)) + "1" + new string('}', 2001) + "}"), what: "deep objects");
            await Send(path, Encoding.UTF8.GetBytes("{\"head\":{\"app_id\":\"fuzz\"},\"items\":[" + string.Join(',', Enumerable.Repeat("{\"name\":\"x\",\"size\":1,\"count\":1}", 120_000)) + "]}"), what: "a huge array");
            await Send(path, Encoding.UTF8.GetBytes("{\"head\":{\"app_id\":\"fuzz\",\"live_bytes\":1e400,\"report_id\":\"n\"},\"items\":[{\"name\":\"x\",\"size\":-99999999999999999999}]}"), what: "numbers out of range");
            await Send(path, [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d], what: "invalid UTF-8");
            // Gzip: bombs, corrupt streams, a gzip header on plain text, plain gzip without the header.
            await Send(path, TestServer.Gzip(new byte[64 << 20], smallest: true), gzipHeader: true, what: "a gzip bomb");
            var gz = TestServer.Gzip(Encoding.UTF8.GetBytes(ValidReport));
            await Send(path, gz[..(gz.Length / 2)], gzipHeader: true, what: "truncated gzip");
            await Send(path, Encoding.UTF8.GetBytes(ValidReport), gzipHeader: true, what: "a gzip header on plain JSON");
            await Send(path, gz, what: "gzip without the header");
            // Content types, keys.
            foreach (var type in new[] { "text/html", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "image/png", ";;;", "application/json; charset=utf-32" })
                await Send(path, Encoding.UTF8.GetBytes(ValidReport), contentType: type, what: "content type " + type);
            await Send(path, Encoding.UTF8.GetBytes(ValidReport), key: null, what: "no key");
            await Send(path, Encoding.UTF8.GetBytes(ValidReport), key: new string('k', 100_000), what: "a huge key");
        }
        // Hostile app ids and ids in queries, bodies and paths.
        foreach (var app in new[] { "../../etc/passwd", "a/b", "%2e%2e%2f", "app\u0000id", "💥", new string('a', 5000), "", " ", "a b", "<script>" })
        {
            var escaped = Uri.EscapeDataString(app);
            await Send("/api/v1/matrix/memstat?app=" + escaped, Encoding.UTF8.GetBytes(Matrix()), what: "app id " + app);
            var node = JsonNode.Parse(ValidReport)!;
            node["head"]!["app_id"] = app;
            await Send("/api/v1/reports", Encoding.UTF8.GetBytes(node.ToJsonString()), what: "head.app_id " + app);
            node["head"]!["app_id"] = "fuzz";
            node["head"]!["report_id"] = app;
            await Send("/api/v1/reports", Encoding.UTF8.GetBytes(node.ToJsonString()), what: "head.report_id " + app);
            await Send("/api/v1/launches", Encoding.UTF8.GetBytes($$"""{"app_id":{{System.Text.Json.JsonSerializer.Serialize(app)}},"prev_exit_reason":"exit"}"""), what: "launch app " + app);
            foreach (var path in new[] { $"/api/v1/policy?app={escaped}", $"/api/v1/apps/{escaped}/issues", $"/api/v1/reports/{escaped}", $"/apps/{escaped}", $"/reports/{escaped}" })
            {
                var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", path.Contains("policy") ? TestServer.IngestKey : TestServer.AdminToken);
                var response = await server.Client.SendAsync(request);
                if ((int)response.StatusCode >= 500) failures.Add($"{(int)response.StatusCode} for GET {path}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        Assert.Equal("ok\n", await server.Client.GetStringAsync("/healthz"));
        // The run did exercise the refusals it is about, not only one of them.
        foreach (var expected in new[] { 400, 401, 413, 415 }) Assert.True(statuses.ContainsKey(expected), $"no {expected} among {string.Join(", ", statuses)}");
    }

    /// <summary>Replaces one value of the document with something of another type, or adds an unknown field.</summary>
    private static string Mutate(string json, Random random)
    {
        var root = JsonNode.Parse(json)!;
        var containers = new List<JsonNode>();
        void Walk(JsonNode? node)
        {
            if (node is JsonObject o) { containers.Add(o); foreach (var (_, v) in o) Walk(v); }
            else if (node is JsonArray a) { containers.Add(a); foreach (var v in a) Walk(v); }
        }
        Walk(root);
        JsonNode?[] replacements = [null, "text", -1, long.MaxValue, 1.5, true, new JsonArray(1, 2), new JsonObject { ["x"] = 1 }, "", new string('x', 10_000), "0xZZ"];
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            var target = containers[random.Next(containers.Count)];
            var value = replacements[random.Next(replacements.Length)]?.DeepClone();
            if (target is JsonObject obj && obj.Count > 0)
            {
                if (random.Next(4) == 0) obj["unknown_" + random.Next(100)] = value;
                else obj[obj.ElementAt(random.Next(obj.Count)).Key] = value;
            }
            else if (target is JsonArray array && array.Count > 0) array[random.Next(array.Count)] = value;
        }
        return root.ToJsonString();
    }
}
