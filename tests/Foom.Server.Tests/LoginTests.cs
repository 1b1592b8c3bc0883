using System.Net;
using System.Text.RegularExpressions;
using Foom.Server.Auth;
using Foom.Server.Tests.Support;

namespace Foom.Server.Tests;

/// <summary>
/// Issue 16, finding 6: "300 guesses over 30 connections in 4.9 s, no 429, no lockout. A session
/// cookie still works after logout." Failed logins are limited per client address and per user
/// (429 with Retry-After, the password not even checked), and logging out renews the session
/// stamp, so a copy of the cookie stops working.
/// </summary>
public sealed partial class LoginTests
{
    /// <summary>A browser without a browser: its own cookies, the antiforgery token read from each form.</summary>
    private sealed class PagesClient(TestServer server) : IDisposable
    {
        public CookieContainer Cookies { get; } = new();
        private readonly HttpClient _client = new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.Url, Timeout = TimeSpan.FromSeconds(120) };

        public async Task<HttpResponseMessage> GetAsync(string path)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            return await SendAsync(request);
        }

        /// <summary>Posts the form of <paramref name="path"/> with <paramref name="fields"/> and the page's antiforgery token.</summary>
        public async Task<HttpResponseMessage> PostFormAsync(string path, string formPage, params (string Name, string Value)[] fields)
        {
            var page = await (await GetAsync(formPage)).Content.ReadAsStringAsync();
            var token = TokenPattern().Match(page);
            Assert.True(token.Success, $"no antiforgery token on {formPage}: {page[..Math.Min(page.Length, 300)]}");
            var request = new HttpRequestMessage(HttpMethod.Post, path)
            {
                Content = new FormUrlEncodedContent([.. fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)), new("__RequestVerificationToken", WebUtility.HtmlDecode(token.Groups[1].Value))]),
            };
            return await SendAsync(request);
        }

        public Task<HttpResponseMessage> LogInAsync(string user, string password) =>
            PostFormAsync("/login", "/login", ("UserName", user), ("Password", password));

        private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
        {
            var header = Cookies.GetCookieHeader(new Uri(_client.BaseAddress!, "/"));
            if (header.Length > 0) request.Headers.Add("Cookie", header);
            var response = await _client.SendAsync(request);
            if (response.Headers.TryGetValues("Set-Cookie", out var set))
                foreach (var cookie in set) Cookies.SetCookies(new Uri(_client.BaseAddress!, "/"), cookie);
            return response;
        }

        public void Dispose() => _client.Dispose();
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    [Fact]
    public async Task FailuresFromOneAddressAreLimitedWith429AndRetryAfter()
    {
        await using var server = await TestServer.StartAsync("sqlite", o => o.LoginLimits = new LoginLimits(PerClient: 5, PerUser: 1000, Window: TimeSpan.FromMinutes(10)));
        using var browser = new PagesClient(server);
        // Different user names, so only the address's count can be what stops them.
        for (var i = 0; i < 5; i++)
        {
            var wrong = await browser.LogInAsync($"guess-{i}", "wrong");
            Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
            Assert.Contains("Wrong user or password.", await wrong.Content.ReadAsStringAsync());
        }
        var limited = await browser.LogInAsync(AdminPassword.UserName, TestServer.AdminPassword);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.True(retryAfter > TimeSpan.FromMinutes(9) && retryAfter <= TimeSpan.FromMinutes(10), $"Retry-After {retryAfter}");
        Assert.Contains("Too many failed logins", await limited.Content.ReadAsStringAsync());
        // Even the right password is not let in while the address waits.
        Assert.Null(browser.Cookies.GetAllCookies().FirstOrDefault(c => c.Name == "foom_session"));
    }

    [Fact]
    public async Task FailuresAsOneUserAreLimitedWhateverTheAddress()
    {
        await using var server = await TestServer.StartAsync("sqlite", o => o.LoginLimits = new LoginLimits(PerClient: 1000, PerUser: 4, Window: TimeSpan.FromMinutes(10)));
        for (var i = 0; i < 4; i++)
        {
            using var guesser = new PagesClient(server);
            Assert.Equal(HttpStatusCode.OK, (await guesser.LogInAsync(AdminPassword.UserName, $"guess-{i}")).StatusCode);
        }
        using var next = new PagesClient(server);
        var limited = await next.LogInAsync(AdminPassword.UserName, "guess-5");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter?.Delta);
        // Another user name is still judged on its password.
        Assert.Equal(HttpStatusCode.OK, (await next.LogInAsync("someone-else", "x")).StatusCode);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task ACookieCopiedBeforeLogoutNoLongerWorksAfterIt(string database)
    {
        await using var server = await TestServer.StartAsync(database);
        using var browser = new PagesClient(server);
        var login = await browser.LogInAsync(AdminPassword.UserName, TestServer.AdminPassword);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var copied = browser.Cookies.GetCookieHeader(server.Url);
        Assert.Contains("foom_session=", copied);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/keys")).StatusCode);

        Assert.Equal(HttpStatusCode.Redirect, (await browser.PostFormAsync("/logout", "/keys")).StatusCode);

        // The copy, replayed as it was: sent to the login page, not let in.
        var replay = new HttpRequestMessage(HttpMethod.Get, "/keys");
        replay.Headers.Add("Cookie", copied);
        using var raw = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.Url };
        var answer = await raw.SendAsync(replay);
        Assert.Equal(HttpStatusCode.Redirect, answer.StatusCode);
        var location = answer.Headers.Location!;
        Assert.StartsWith("/login", location.IsAbsoluteUri ? location.PathAndQuery : location.OriginalString);

        // A new login works again.
        using var again = new PagesClient(server);
        Assert.Equal(HttpStatusCode.Redirect, (await again.LogInAsync(AdminPassword.UserName, TestServer.AdminPassword)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/keys")).StatusCode);
    }
}
