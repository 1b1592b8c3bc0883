using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Foom.Report.Model;

// Load generator for `foom serve` (docs/benchmarks.md). Runs in its own process so that the
// server is measured as clients see it. Every request loop is bounded in count and time.
//
//   ingest --url URL --key KEY [--reports N] [--warmup W] [--concurrency C] [--size-kb KB] [--app APP] [--issues K] [--seconds S]
//
// --warmup sends W further distinct reports first, timed apart: a server that has just started
// spends its first seconds compiling (tiered JIT), which a server in service has long done.
//   issues --url URL --token ADMIN_TOKEN --password PASSWORD [--app APP] [--runs R] [--report ID]
//
// issues times every page and the issue API, logged in, at the client over loopback (an upper
// bound of the server's time); --report adds one report's page (a big one, say).
var options = ParseOptions(args.Skip(1));
return args.FirstOrDefault() switch
{
    "ingest" => await Ingest(options),
    "issues" => await Issues(options),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Foom.Server.Load ingest --url URL --key KEY [--reports N] [--warmup W] [--concurrency C] [--size-kb KB] [--app APP] [--issues K] [--seconds S]");
    Console.Error.WriteLine("       Foom.Server.Load issues --url URL --token ADMIN_TOKEN --password PASSWORD [--app APP] [--runs R] [--report ID]");
    return 2;
}

static Dictionary<string, string> ParseOptions(IEnumerable<string> args)
{
    var options = new Dictionary<string, string>();
    string? name = null;
    foreach (var arg in args)
    {
        if (arg.StartsWith("--", StringComparison.Ordinal)) name = arg[2..];
        else if (name is not null) { options[name] = arg; name = null; }
    }
    return options;
}

static async Task<int> Ingest(Dictionary<string, string> options)
{
    var url = new Uri(options["url"]);
    var key = options["key"];
    var reports = int.Parse(options.GetValueOrDefault("reports", "3000"));
    var warmup = int.Parse(options.GetValueOrDefault("warmup", "0"));
    var concurrency = int.Parse(options.GetValueOrDefault("concurrency", "32"));
    var sizeKb = int.Parse(options.GetValueOrDefault("size-kb", "300"));
    var app = options.GetValueOrDefault("app", "bench");
    var issues = int.Parse(options.GetValueOrDefault("issues", "40"));
    var seconds = int.Parse(options.GetValueOrDefault("seconds", "300"));
    var run = options.GetValueOrDefault("run", DateTime.UtcNow.ToString("HHmmss"));

    // Bodies are made and gzip'ed before the clock starts: the client's own work must not
    // compete with the server for the two cores while it is measured.
    Console.Error.WriteLine($"making {warmup + reports} reports of about {sizeKb} KB ({issues} causes)...");
    var random = new Random(42);
    var templates = Enumerable.Range(0, Math.Min(reports, 64)).Select(t => MakeReport(random, app, t % issues, sizeKb)).ToArray();
    var bodies = new byte[warmup + reports][];
    long jsonBytes = 0, gzipBytes = 0;
    Parallel.For(0, bodies.Length, i =>
    {
        var json = templates[i % templates.Length].Replace("\"REPORT_ID\"", $"\"load-{run}-{i}\"").Replace("\"DEVICE_ID\"", $"\"device-{i % 997}\"");
        var bytes = Encoding.UTF8.GetBytes(json);
        Interlocked.Add(ref jsonBytes, bytes.Length);
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal)) gzip.Write(bytes);
        bodies[i] = output.ToArray();
        Interlocked.Add(ref gzipBytes, bodies[i].Length);
    });
    Console.Error.WriteLine($"average report: {jsonBytes / bodies.Length / 1024} KB of JSON, {gzipBytes / bodies.Length / 1024} KB gzip'ed");

    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
    {
        BaseAddress = url,
        Timeout = TimeSpan.FromSeconds(60),
    };
    var deadline = Stopwatch.StartNew();
    if (warmup > 0)
    {
        var warm = await Upload(bodies[..warmup]);
        Console.WriteLine($"warm-up: {warm.Latencies.Length} uploads in {warm.Wall.TotalSeconds:0.00} s ({warm.Ok / warm.Wall.TotalSeconds:0.0} reports/s), p99 {Percentile(warm.Latencies, 0.99):0.0} ms; not counted below");
    }
    var measured = await Upload(bodies[warmup..]);
    var sorted = measured.Latencies;
    Console.WriteLine($"uploads: {sorted.Length} in {measured.Wall.TotalSeconds:0.00} s with {concurrency} connections; statuses {string.Join(", ", measured.Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}");
    Console.WriteLine($"throughput: {measured.Ok / measured.Wall.TotalSeconds:0.0} reports/s ({jsonBytes / bodies.Length / 1024} KB JSON, {gzipBytes / bodies.Length / 1024} KB gzip each)");
    Console.WriteLine($"latency ms: p50 {Percentile(sorted, 0.50):0.0}  p90 {Percentile(sorted, 0.90):0.0}  p99 {Percentile(sorted, 0.99):0.0}  max {sorted.LastOrDefault():0.0}");
    return measured.Ok == sorted.Length ? 0 : 1;

    async Task<(double[] Latencies, IReadOnlyDictionary<int, int> Statuses, int Ok, TimeSpan Wall)> Upload(byte[][] batch)
    {
        var latencies = new ConcurrentBag<double>();
        var statuses = new ConcurrentDictionary<int, int>();
        var next = -1;
        var wall = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < batch.Length && deadline.Elapsed.TotalSeconds < seconds)
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/reports") { Content = new ByteArrayContent(batch[i]) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Content.Headers.ContentEncoding.Add("gzip");
                var started = Stopwatch.GetTimestamp();
                int status;
                try
                {
                    using var response = await client.SendAsync(request);
                    status = (int)response.StatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    status = 0;
                }
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        wall.Stop();
        return (latencies.Order().ToArray(), statuses, statuses.Where(s => s.Key is >= 200 and < 300).Sum(s => s.Value), wall.Elapsed);
    }
}

static double Percentile(double[] sorted, double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

static async Task<int> Issues(Dictionary<string, string> options)
{
    var url = new Uri(options["url"]);
    var app = options.GetValueOrDefault("app", "bench");
    var runs = int.Parse(options.GetValueOrDefault("runs", "7"));
    var cookies = new CookieContainer();
    using var client = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
    // Log in as a person would: the form's antiforgery token, then the password.
    var loginPage = await client.GetStringAsync("/login");
    var token = Regex.Match(loginPage, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"").Groups[1].Value;
    var login = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
    {
        ["UserName"] = "admin", ["Password"] = options["password"], ["__RequestVerificationToken"] = token,
    }));
    if (login.StatusCode != HttpStatusCode.Redirect) { Console.Error.WriteLine($"login failed: {login.StatusCode}"); return 1; }
    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options["token"]);
    var apps = JsonDocument.Parse(await client.GetStringAsync("/api/v1/apps")).RootElement;
    var reports = apps.EnumerateArray().Where(a => a.GetProperty("app").GetString() == app).Select(a => a.GetProperty("reports").GetInt64()).FirstOrDefault();
    var firstIssue = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/apps/{app}/issues?limit=1")).RootElement[0].GetProperty("issue").GetString();
    var latestReport = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/apps/{app}/reports?limit=1")).RootElement[0].GetProperty("report_id").GetString();
    var pages = new List<(string What, string Path)>
    {
        ("apps page", "/"), ("app page (issue list, rates)", $"/apps/{app}"), ("issues page (search)", $"/apps/{app}/issues"),
        ("issues page, filtered", $"/apps/{app}/issues?Caller=store1&State=open"), ("issue page", $"/apps/{app}/issues/{firstIssue}"),
        ("report page (latest)", $"/reports/{latestReport}"), ("reports page", $"/apps/{app}/reports"), ("limits page", "/limits"),
        ("issues API", $"/api/v1/apps/{app}/issues"), ("issue API", $"/api/v1/apps/{app}/issues/{firstIssue}"),
    };
    if (options.TryGetValue("report", out var report)) pages.Add(("report page (--report)", $"/reports/{report}"));
    foreach (var (what, path) in pages)
    {
        var times = new List<double>();
        long bytes = 0;
        for (var i = 0; i < runs; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var response = await client.GetAsync(path);
            var body = await response.Content.ReadAsByteArrayAsync();
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            if (!response.IsSuccessStatusCode) { Console.Error.WriteLine($"{path}: {response.StatusCode}"); return 1; }
            bytes = body.Length;
        }
        times.Sort();
        Console.WriteLine($"{what} over {reports} reports: median {times[times.Count / 2]:0} ms, max {times[^1]:0} ms ({runs} runs, {bytes / 1024} KB)");
    }
    return 0;
}

// A report shaped like a real one: many categories, the big ones with stacks of named frames.
// Each "cause" has its own allocation point and scene, so the server forms that many issues.
static string MakeReport(Random random, string app, int cause, int sizeKb)
{
    const string appUuid = "0b1c2d3e4f5061728394a5b6c7d8e9f0";
    const string libc = "11223344556677889900aabbccddeeff";
    var report = new Report
    {
        Head = new ReportHead
        {
            ReportId = "REPORT_ID", Platform = "linux", AppId = app, AppVersion = $"2.{cause % 3}.0", AppUuid = appUuid, DeviceId = "DEVICE_ID",
            UserId = $"user-{random.Next(5000)}", Phone = $"host-{random.Next(40)}", OsVersion = "6.1.0", LaunchTime = 1_763_000_000_000,
            ReportTime = 1_763_000_100_000, ExitReason = "foreground_oom", ExitHow = "observed", LimitBytes = 2L << 30, Scene = $"scene-{cause}",
        },
        Modules =
        [
            new ReportModule { Uuid = appUuid, Name = "server-app", Path = "/srv/app/bin/server-app", Base = 0x555500000000, Size = 0x4000000 },
            new ReportModule { Uuid = libc, Name = "libc.so.6", Path = "/usr/lib/x86_64-linux-gnu/libc.so.6", Base = 0x7f0000000000, Size = 0x200000 },
        ],
    };
    var target = sizeKb * 1024;
    var total = 0L;
    for (var c = 0; ; c++)
    {
        var size = c == 0 ? (900L << 20) + random.Next(1 << 26) : random.Next(1 << 10, 1 << 24);
        var item = new ReportItem { Name = c == 0 ? $"Malloc {1 + cause % 8}.00 MiB" : $"Malloc {16 * (c + 1)} Bytes", Size = size, Count = 1 + size / (16 * (c + 1)) };
        for (var s = 0; s < (c < 20 ? 10 : 2); s++)
        {
            var frames = new List<ReportFrame> { new() { Uuid = libc, Offset = 0x9a0e0, Function = "malloc" } };
            var causeFunction = c == 0 && s == 0 ? $"cache::Store{cause}::insert(std::string const&)" : $"module{c % 17}::worker{s}::step{random.Next(400)}(int)";
            frames.Add(new ReportFrame { Uuid = appUuid, Offset = (ulong)(0x10000 + cause * 0x100 + s), Function = causeFunction });
            for (var f = 0; f < 22; f++)
                frames.Add(new ReportFrame { Uuid = appUuid, Offset = (ulong)(0x20000 + random.Next(1 << 20)), Function = $"service{f % 9}::Handler{random.Next(50)}::run(request&)" });
            item.Stacks.Add(new ReportStack { Caller = $"{appUuid}@{frames[1].Offset}", Size = size / 10, Count = Math.Max(1, item.Count / 10), Frames = frames });
        }
        report.Items.Add(item);
        total += item.Size;
        if (JsonSerializer.SerializeToUtf8Bytes(report).Length >= target) break;
    }
    report.Head.LiveBytes = total;
    report.Head.LiveCount = report.Items.Sum(i => i.Count);
    report.Head.FootprintBytes = total + (64L << 20);
    report.Head.PeakFootprintBytes = report.Head.FootprintBytes;
    return JsonSerializer.Serialize(report);
}
