using System.Net;
using System.Text.Json;
using Foom.Report.Model;
using Foom.Server.Tests.Support;
using OpenQA.Selenium;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>The pages, in a real headless Chromium against a real server.</summary>
public sealed class PagesTests
{
    private static Report.Model.Report WithTimeline(Report.Model.Report report, long start)
    {
        var samples = Enumerable.Range(0, 20).Select(i => new[] { start + i * 500L, (long)(i + 1) * (25L << 20) }).ToArray();
        report.Head.LaunchTime = start;
        report.Head.FootprintSamples = [.. samples];
        report.Head.Warnings = [new ReportWarning { Time = start + 7000, FootprintBytes = 375L << 20, LimitBytes = 512L << 20, Source = "threshold" }];
        return report;
    }

    [Fact]
    public async Task AnAdminLogsInAndWalksFromAppsToIssuesToAReportAndEditsPolicyKeysAndHints()
    {
        await using var server = await TestServer.StartAsync("sqlite");
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(WithTimeline(Linux($"img-{i}", limit: 512L << 20, device: $"host-{i}",
                items: [Item("Malloc 8.00 MiB", 400L << 20, 50, Stack(400L << 20, 50, "decode_image", "show_gallery")),
                        Item("<script>window.xss=1</script>", 1 << 20, 3, Stack(1 << 20, 3, "<img src=x onerror=window.xss=2>"))]), start)))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/matrix/memstat?app=demo-app", Matrix())).StatusCode);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var launches = Enumerable.Range(0, 20).Select(i => new
        {
            launch_id = $"l{i}", app_id = "demo-app", app_version = i < 10 ? "1.0.0" : "1.1.0", launch_time = now - (i % 3) * 86_400_000L,
            prev_exit_reason = i % 5 == 0 ? "foreground_oom" : i % 7 == 0 ? "watchdog" : i % 4 == 0 ? "crash" : "exit",
        });
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/launches", JsonSerializer.Serialize(launches))).StatusCode);
        var jetsam = server.Ingest(HttpMethod.Post, "/api/v1/jetsam");
        jetsam.Content = new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Jetsam", "variants", "iOS16.2_iPhone13,2_per-process-limit_freeze-skip-reason.ips")));
        Assert.Equal(HttpStatusCode.Accepted, (await server.Client.SendAsync(jetsam)).StatusCode);

        using var driver = Browser.Start(out var profile);
        try
        {
            var url = server.Url.ToString().TrimEnd('/');
            driver.Navigate().GoToUrl(url + "/");
            Assert.Contains("/login", driver.Url);
            driver.FindElement(By.Id("password")).SendKeys("wrong");
            driver.FindElement(By.Id("login")).Click();
            Assert.Equal("Wrong user or password.", driver.FindElement(By.Id("login-error")).Text);
            driver.FindElement(By.Id("password")).SendKeys(TestServer.AdminPassword);
            driver.FindElement(By.Id("login")).Click();

            // Apps → the app: three trend charts and the two-level issue list.
            driver.FindElement(By.LinkText("demo-app")).Click();
            Assert.Equal(3, driver.FindElements(By.CssSelector("#trends figure.chart")).Count);
            Assert.Contains("FOOM rate", driver.FindElement(By.Id("trends")).Text);
            Browser.WaitFor(driver, () => driver.FindElements(By.CssSelector("#trends figure.chart .uplot canvas")).Count == 3, "three uPlot charts");
            var level1 = driver.FindElements(By.CssSelector("#issues details.level1 .level1-name")).Select(e => e.Text).ToList();
            Assert.Equal("decode_image (demo)", level1[0]);
            Assert.Contains("5D3A1B2C9E8F4A7B8C6D5E4F3A2B1C0D@1052672", level1);
            Browser.Screenshot(driver, "walk-app");

            // The issue: its eigenvalue, the hint and its reports.
            driver.FindElement(By.LinkText("show_gallery (demo)")).Click();
            Assert.Contains("Decoding big images at full size", driver.FindElement(By.ClassName("hint-title")).Text);
            Assert.Equal(3, driver.FindElements(By.CssSelector("#reports tr")).Count - 1);
            Browser.Screenshot(driver, "walk-issue");

            // A report as Allocations shows it, the timeline against the limit and the flame graph.
            driver.FindElement(By.LinkText("img-2")).Click();
            var names = driver.FindElements(By.CssSelector("#allocations .cat-name")).Select(e => e.Text).ToList();
            Assert.Equal("Malloc 8.00 MiB", names[0]);
            Assert.Contains("<script>window.xss=1</script>", names);
            var firstCategory = driver.FindElement(By.CssSelector("#allocations details.category"));
            Assert.False(firstCategory.FindElement(By.CssSelector("li.caller")).Displayed);
            firstCategory.FindElement(By.TagName("summary")).Click();
            var caller = firstCategory.FindElement(By.CssSelector("li.caller"));
            Assert.True(caller.Displayed);
            Assert.StartsWith("decode_image (demo)", caller.Text);
            Assert.Equal(2, firstCategory.FindElements(By.CssSelector("li.skipped")).Count);
            Browser.WaitFor(driver, () => driver.FindElements(By.CssSelector("#timeline .u-over .marker")).Count == 1, "the warning marker");
            Assert.Contains("limit 512 MiB", driver.FindElement(By.Id("timeline")).Text);
            Browser.WaitFor(driver, () => driver.FindElements(By.CssSelector("#flame svg g.frame rect")).Count >= 5, "the flame graph");
            Assert.Null(((IJavaScriptExecutor)driver).ExecuteScript("return window.xss === undefined ? null : window.xss;"));
            Browser.Screenshot(driver, "walk-report");

            // The device limits from the JetsamEvent log and the kill records.
            driver.FindElement(By.LinkText("Device limits")).Click();
            var limits = driver.FindElement(By.Id("limits")).Text;
            Assert.Contains("iPhone13,2", limits);
            Assert.Contains("test-host", limits);
            Browser.Screenshot(driver, "walk-limits");

            // The sampling policy editor changes what recorders are told.
            driver.Navigate().GoToUrl(url + "/apps/demo-app/policy");
            var rate = driver.FindElement(By.Id("rate"));
            rate.Clear();
            rate.SendKeys("10");
            driver.FindElement(By.Id("users")).SendKeys("vip-user");
            driver.FindElement(By.Id("gray")).SendKeys("2.0-beta");
            driver.FindElement(By.Id("save-policy")).Click();
            Assert.Equal("Saved.", driver.FindElement(By.Id("policy-message")).Text);
            Browser.Screenshot(driver, "walk-policy");
            var policy = JsonDocument.Parse(await (await server.Client.SendAsync(server.Ingest(HttpMethod.Get, "/api/v1/policy?app=demo-app&device=z&user=vip-user"))).Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(0.1, policy.GetProperty("sample_rate").GetDouble());
            Assert.Equal("whitelisted user", policy.GetProperty("why").GetString());

            // Forms are protected: the same POST without the antiforgery token is refused.
            var cookies = string.Join("; ", driver.Manage().Cookies.AllCookies.Select(c => $"{c.Name}={c.Value}"));
            var forged = new HttpRequestMessage(HttpMethod.Post, "/apps/demo-app/policy") { Content = new FormUrlEncodedContent([new("RatePercent", "0")]) };
            forged.Headers.Add("Cookie", cookies);
            Assert.Equal(HttpStatusCode.BadRequest, (await server.Client.SendAsync(forged)).StatusCode);

            // Ingest keys: made here, shown once, valid for their app, revocable.
            driver.FindElement(By.LinkText("Ingest keys")).Click();
            driver.FindElement(By.Id("key-app")).SendKeys("demo-app");
            driver.FindElement(By.Id("key-label")).SendKeys("browser test");
            driver.FindElement(By.Id("create")).Click();
            var key = driver.FindElement(By.Id("new-key")).Text;
            Assert.StartsWith("fk_", key);
            Browser.Screenshot(driver, "walk-keys");
            Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Linux("by-page-key", items: [Item("x", 1, 1)])), key: key)).StatusCode);
            driver.FindElement(By.CssSelector("#keys button")).Click();
            Assert.Contains("revoked", driver.FindElement(By.Id("keys")).Text);
            Assert.Equal(HttpStatusCode.Unauthorized, (await server.PostJsonAsync("/api/v1/reports", Json(Linux("by-page-key-2", items: [Item("x", 1, 1)])), key: key)).StatusCode);

            // Hints: a broken rule set is refused with the reason; a good one is in force at once.
            driver.FindElement(By.LinkText("Hints")).Click();
            var editor = driver.FindElement(By.Id("hints-json"));
            editor.Clear();
            editor.SendKeys("""{"hints":[{"id":"x","title":"T","advice":"A","caller":"(broken"}]}""");
            driver.FindElement(By.Id("save-hints")).Click();
            Assert.Contains("hints[0].caller", driver.FindElement(By.Id("hints-message")).Text);
            editor = driver.FindElement(By.Id("hints-json"));
            editor.Clear();
            editor.SendKeys("""{"hints":[{"id":"gallery","title":"The gallery keeps every image","advice":"Page it.","caller":"show_gallery"}]}""");
            driver.FindElement(By.Id("save-hints")).Click();
            Assert.Equal("Saved.", driver.FindElement(By.Id("hints-message")).Text);
            Browser.Screenshot(driver, "walk-hints");
            driver.Navigate().GoToUrl(url + "/apps/demo-app");
            Assert.Contains("The gallery keeps every image", driver.FindElement(By.Id("issues")).Text);

            driver.FindElement(By.Id("logout")).Click();
            driver.Navigate().GoToUrl(url + "/keys");
            Assert.Contains("/login", driver.Url);
        }
        finally
        {
            driver.Quit();
            try { Directory.Delete(profile, true); } catch (IOException) { }
        }
    }
}
