using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Foom.Server.Tests.Support;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>The read API's contract: the OpenAPI document, problem details, cursor pages, 404s, checked parameters, the pages' login.</summary>
public sealed partial class ApiContractTests
{
    public static TheoryData<string> Databases => ["sqlite", "postgres"];

    /// <summary>Issue 17: the ingest API answered its errors as {"error": ...}, the read API as problem details; now both the latter, keeping "error" for older uploaders.</summary>
    [Fact]
    public async Task IngestErrorsAreProblemDetailsTooAndKeepTheirErrorField()
    {
        await using var server = await TestServer.StartAsync("sqlite");
        var wrongType = server.Ingest(HttpMethod.Post, "/api/v1/reports");
        wrongType.Content = new StringContent("{}", System.Text.Encoding.UTF8, "text/html");
        foreach (var (what, response, status, mentions) in new[]
        {
            ("not JSON", await server.PostJsonAsync("/api/v1/reports", "{not json"), 400, ""),
            ("no key", await server.PostJsonAsync("/api/v1/reports", "{}", key: null), 401, "ingest key"),
            ("a wrong key", await server.PostJsonAsync("/api/v1/launches", "{}", key: "wrong-key-0123456789"), 401, "ingest key"),
            ("text/html", await server.Client.SendAsync(wrongType), 415, "text/html"),
        })
        {
            Assert.True(status == (int)response.StatusCode, $"{what}: {(int)response.StatusCode}");
            Assert.True("application/problem+json" == response.Content.Headers.ContentType?.MediaType, $"{what}: {response.Content.Headers.ContentType}");
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(status, problem.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
            var detail = problem.GetProperty("detail").GetString()!;
            Assert.Contains(mentions, detail);
            Assert.Equal(detail, problem.GetProperty("error").GetString());
        }
    }

    [Theory, MemberData(nameof(Databases))]
    public async Task ErrorsAreProblemDetailsNamingWhatIsWrongAndListsPageByCursor(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Linux($"r-{i}", device: $"d{i}",
                items: [Item($"Malloc {i} KiB", (10L + i) << 20, 10, Stack((10L + i) << 20, 10, $"cause_{i}", "main"))])))).StatusCode);

        foreach (var (path, status, mentions) in new[]
        {
            ("/api/v1/apps/demo-app/rates?days=abc", 400, "'days' is 'abc'"),
            ("/api/v1/apps/demo-app/rates?days=-5", 400, "from 1 to 3650"),
            ("/api/v1/apps/demo-app/issues?limit=0", 400, "'limit'"),
            ("/api/v1/apps/demo-app/issues?cursor=zzz", 400, "'cursor'"),
            ("/api/v1/apps/demo-app/issues?state=closed", 400, "open, resolved, regressed"),
            ("/api/v1/apps/demo-app/issues?colour=red", 400, "unknown query parameter 'colour'"),
            ("/api/v1/reports/r-1?raw=maybe", 400, "'raw'"),
            ("/api/v1/apps/no-such-app/issues", 404, "no-such-app"),
            ("/api/v1/apps/no-such-app/rates", 404, "no-such-app"),
            ("/api/v1/apps/demo-app/issues/nope/reports", 404, "no issue 'nope'"),
            ("/api/v1/reports/nope", 404, "no report has the id 'nope'"),
            ("/api/v1/no/such/endpoint", 404, ""),
        })
        {
            var response = await server.GetAdminAsync(path);
            Assert.True(status == (int)response.StatusCode, $"{path}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(status, problem.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
            if (mentions.Length > 0) Assert.Contains(mentions, problem.GetProperty("detail").GetString());
        }
        var unauthorized = await server.Client.GetAsync("/api/v1/apps");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal("application/problem+json", unauthorized.Content.Headers.ContentType?.MediaType);

        // Pages of one: each has a Link to the next until the last; the reports' cursor holds while new ones arrive.
        var seen = new List<string>();
        string? next = "/api/v1/apps/demo-app/reports?limit=1";
        while (next is not null)
        {
            var response = await server.GetAdminAsync(next);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            seen.AddRange(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.EnumerateArray().Select(r => r.GetProperty("report_id").GetString()!));
            next = response.Headers.TryGetValues("Link", out var links) ? NextLink().Match(links.Single()).Groups[1].Value : null;
            if (seen.Count == 1)
                Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Linux("r-new", items: [Item("x", 1, 1)])))).StatusCode);
        }
        Assert.Equal(["r-2", "r-1", "r-0"], seen);
        var issues = new List<string>();
        next = "/api/v1/apps/demo-app/issues?limit=2";
        while (next is not null)
        {
            var response = await server.GetAdminAsync(next);
            var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            Assert.True(page.GetArrayLength() <= 2);
            issues.AddRange(page.EnumerateArray().Select(i => i.GetProperty("issue").GetString()!));
            next = response.Headers.TryGetValues("Link", out var links) ? NextLink().Match(links.Single()).Groups[1].Value : null;
        }
        Assert.Equal(4, issues.Distinct().Count());
        Assert.Equal(4, issues.Count);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheEndpointsAndTheReferencePageAndThePagesLoginReadIt()
    {
        await using var server = await TestServer.StartAsync("sqlite");
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Linux("r-0", items: [Item("x", 1, 1)])))).StatusCode);
        var document = JsonDocument.Parse(await server.Client.GetStringAsync("/openapi/v1.json")).RootElement;
        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/apps", "/api/v1/apps/{app}/issues", "/api/v1/apps/{app}/issues/{issue}", "/api/v1/apps/{app}/issues/{issue}/reports",
                     "/api/v1/apps/{app}/reports", "/api/v1/apps/{app}/rates", "/api/v1/reports/{reportId}", "/api/v1/device-limits", "/api/v1/apps/{app}/reanalyze" })
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not in the document");
        var issues = paths.GetProperty("/api/v1/apps/{app}/issues").GetProperty("get");
        var parameters = issues.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Superset(new HashSet<string?> { "app", "version", "reason", "category", "caller", "device", "state", "limit", "cursor" }, parameters.ToHashSet());
        Assert.True(issues.GetProperty("responses").TryGetProperty("404", out _));
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var issue = schemas.GetProperty("ApiIssue").GetProperty("properties");
        Assert.True(issue.TryGetProperty("reason_kind", out _) && issue.TryGetProperty("state", out _) && issue.TryGetProperty("first_seen", out _));

        // The reference page and the script it runs come from this server, not a CDN.
        var page = await server.Client.GetStringAsync("/api-reference");
        Assert.Contains("\"url\":\"openapi/v1.json\"", page);
        foreach (Match script in ScriptSource().Matches(page))
        {
            var src = script.Groups[1].Value;
            Assert.False(src.StartsWith("http", StringComparison.Ordinal) || src.StartsWith("//", StringComparison.Ordinal), $"{src} is not served here");
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync(new Uri(new Uri(server.Url, "/api-reference/"), src))).StatusCode);
        }

        // The pages' login reads the API; it never changes anything there.
        using var browser = await LoggedInClientAsync(server);
        var apps = await browser.GetAsync("/api/v1/apps");
        Assert.Equal(HttpStatusCode.OK, apps.StatusCode);
        Assert.Equal("demo-app", JsonDocument.Parse(await apps.Content.ReadAsStringAsync()).RootElement[0].GetProperty("app").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.PostAsync("/api/v1/apps/demo-app/reanalyze", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAdminAsync("/api/v1/apps/demo-app/reanalyze")).StatusCode);
    }

    /// <summary>An HTTP client that logged in through the login form, as a browser does.</summary>
    private static async Task<HttpClient> LoggedInClientAsync(TestServer server)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = server.Url };
        var form = await client.GetStringAsync("/login");
        var token = AntiforgeryToken().Match(form).Groups[1].Value;
        var login = await client.PostAsync("/login", new FormUrlEncodedContent([new("UserName", "admin"), new("Password", TestServer.AdminPassword), new("__RequestVerificationToken", token)]));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        return client;
    }

    [GeneratedRegex("<([^>]+)>; rel=\"next\"")]
    private static partial Regex NextLink();

    [GeneratedRegex("<script[^>]*src=\"([^\"]+)\"")]
    private static partial Regex ScriptSource();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}
