using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Foom.Server.Tests.Support;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>
/// Issue 16, findings 4 and 5: a lone UTF-16 surrogate escape made POST /api/v1/jetsam answer
/// 500, and a NUL in a name (category, function, scene, Matrix item, JetsamEvent product) gave
/// 500 on PostgreSQL while SQLite stored it. Now every upload answers 400 naming the field, the
/// same on both databases (docs/report-format.md, "Strings").
/// </summary>
public sealed class StringRuleTests
{
    public static TheoryData<string> Databases => ["sqlite", "postgres"];

    private const string Broken = "BROKEN-STRING";

    private static string Report(Action<JsonNode> edit)
    {
        var node = JsonNode.Parse(Json(Linux("strings-1", app: "strings", items: [Item("Malloc 1.00 MiB", 1L << 20, 1, Stack(1L << 20, 1, "decode", "main"))])))!;
        edit(node);
        return node.ToJsonString();
    }

    private static string Jetsam(string product) => $$"""
        {"bug_type":"298","product":"{{product}}","memoryStatus":{"pageSize":16384},
         "processes":[{"name":"chat","rpages":1000,"reason":"per-process-limit","states":["frontmost"]}]}
        """;

    /// <summary>Each upload with <see cref="Broken"/> where the bad escape goes, and the field the answer must name.</summary>
    private static IEnumerable<(string Path, string Body, string Field)> Uploads()
    {
        yield return ("/api/v1/reports", Report(r => r["items"]![0]!["name"] = Broken), "items[0].name");
        yield return ("/api/v1/reports", Report(r => r["items"]![0]!["stacks"]![0]!["frames"]![0]!["function"] = Broken), "items[0].stacks[0].frames[0].function");
        yield return ("/api/v1/reports", Report(r => r["head"]!["scene"] = Broken), "head.scene");
        yield return ("/api/v1/reports", Report(r => r["modules"]![0]!["name"] = Broken), "modules[0].name");
        yield return ("/api/v1/matrix/memstat?app=strings", Matrix().Replace("\"name\":\"UIImage\"", $"\"name\":\"{Broken}\"", StringComparison.Ordinal), "items[0].name");
        yield return ("/api/v1/matrix/memstat?app=strings", Matrix().Replace("\"scene\":\"ChatViewController\"", $"\"scene\":\"{Broken}\"", StringComparison.Ordinal), "items[0].scene");
        yield return ("/api/v1/jetsam", Jetsam(Broken), "product");
        yield return ("/api/v1/launches", $$"""[{"app_id":"strings","prev_exit_reason":"exit"},{"app_id":"strings","device_id":"{{Broken}}","prev_exit_reason":"exit"}]""", "[1].device_id");
    }

    [Theory, MemberData(nameof(Databases))]
    public async Task ANulOrALoneSurrogateIsA400NamingTheFieldOnBothDatabases(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        var wrong = new List<string>();
        foreach (var (path, body, field) in Uploads())
            foreach (var (escape, problem) in new[] { (@"x\u0000y", @"holds a NUL character (\u0000)"), (@"x\ud800y", @"holds a lone UTF-16 surrogate (\ud800)"), (@"\udc00", @"holds a lone UTF-16 surrogate (\udc00)") })
            {
                var response = await server.PostJsonAsync(path, body.Replace(Broken, escape, StringComparison.Ordinal));
                var text = await response.Content.ReadAsStringAsync();
                var expected = $"{field}: {problem}";
                if (response.StatusCode != HttpStatusCode.BadRequest || !text.Contains(JsonSerializer.Serialize(expected)[1..^1], StringComparison.Ordinal))
                    wrong.Add($"{path} {field} {escape}: {(int)response.StatusCode} {text}");
            }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        using var connection = server.Handle.Database.Open();
        Assert.Equal(0, connection.ExecuteScalar<long>("SELECT (SELECT COUNT(*) FROM reports) + (SELECT COUNT(*) FROM jetsam_events) + (SELECT COUNT(*) FROM launches)"));
    }

    /// <summary>A character outside the BMP, escaped as a pair or written as UTF-8, is stored as itself.</summary>
    [Theory, MemberData(nameof(Databases))]
    public async Task AnEscapedSurrogatePairIsStoredAsTheCharacter(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        var response = await server.PostJsonAsync("/api/v1/reports", Report(r => r["items"]![0]!["name"] = Broken).Replace(Broken, @"Malloc \ud83d\udca5", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var issues = JsonNode.Parse(await (await server.GetAdminAsync("/api/v1/apps/strings/issues")).Content.ReadAsStringAsync())!;
        Assert.Equal("Malloc 💥", issues.AsArray().Single()!["category"]!.GetValue<string>());
    }

    /// <summary>
    /// Long names are cut to fit their column; a cut between the halves of a surrogate pair left
    /// a lone surrogate, which PostgreSQL's encoder refuses (a 500).
    /// </summary>
    [Theory, MemberData(nameof(Databases))]
    public async Task ALongNameIsNeverCutInsideASurrogatePair(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        var product = new string('a', 255) + "💥";
        var response = await server.PostJsonAsync("/api/v1/jetsam", Jetsam(product));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var connection = server.Handle.Database.Open();
        Assert.Equal(new string('a', 255), connection.ExecuteScalar<string>("SELECT device_model FROM jetsam_events"));
    }
}
