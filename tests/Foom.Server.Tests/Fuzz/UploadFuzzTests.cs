using System.Net.Http.Headers;
using CsCheck;
using Foom.Server.Tests.Support;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests.Fuzz;

/// <summary>
/// <see cref="HostileJson.Cases"/> mutated uploads to the ingest endpoints (Foom and Matrix
/// reports, launch records, JetsamEvent logs), on SQLite and on PostgreSQL: never a 5xx, and
/// the server still answers afterwards. A failure prints the upload that caused it.
/// </summary>
public sealed class UploadFuzzTests(ITestOutputHelper output)
{
    public static TheoryData<string> Databases => ["sqlite", "postgres"];

    private static readonly (string Path, byte[] Seed)[] Seeds =
    [
        ("/api/v1/reports", System.Text.Encoding.UTF8.GetBytes(Json(Linux("fuzz-1", app: "fuzz", items: [Item("Malloc 1.00 MiB", 10L << 20, 10, Stack(10L << 20, 10, "decode", "main"))])))),
        ("/api/v1/matrix/memstat?app=fuzz", System.Text.Encoding.UTF8.GetBytes(Matrix())),
        ("/api/v1/launches", """[{"launch_id":"l-1","app_id":"fuzz","app_version":"1.0","device_id":"d","user_id":"u","phone":"iPhone12,1","os_ver":"14.2","launch_time":1760000000000,"prev_exit_reason":"foreground_oom","prev_exit_how":"observed","prev_app_version":"0.9"}]"""u8.ToArray()),
        ("/api/v1/jetsam", File.ReadAllBytes(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Jetsam", "variants"), "iOS16.2*").Single())),
    ];

    [Theory, MemberData(nameof(Databases))]
    public async Task NoMutatedUploadGetsA5xx(string database)
    {
        var generator = Gen.Int[0, Seeds.Length - 1].SelectMany(i => new HostileJson(Seeds[i].Seed).Documents.Select(body => (Seeds[i].Path, Body: body)));
        var uploads = new List<(string Path, byte[] Body)>();
        generator.Sample(upload => { uploads.Add(upload); }, iter: HostileJson.Cases, threads: 1);

        await using var server = await TestServer.StartAsync(database);
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();
        foreach (var (path, body) in uploads)
        {
            var request = server.Ingest(HttpMethod.Post, path);
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var response = await server.Client.SendAsync(request);
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            if (status >= 500)
                failures.Add($"{status} at {path} for {System.Text.Encoding.UTF8.GetString(body)[..Math.Min(body.Length, 300)]}: {await response.Content.ReadAsStringAsync()}");
        }
        output.WriteLine($"{database}: {uploads.Count} uploads: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key} x{s.Value}"))}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {uploads.Count} uploads got a 5xx:\n{string.Join("\n", failures.Take(10))}");
        Assert.Equal("ok\n", await server.Client.GetStringAsync("/healthz"));
        Assert.True(statuses.Keys.Any(s => s is 200 or 202) && statuses.ContainsKey(400), $"statuses: {string.Join(", ", statuses)}");
    }
}
