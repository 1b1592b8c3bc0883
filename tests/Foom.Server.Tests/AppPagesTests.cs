using System.Net;
using System.Text.Json;
using Foom.Server.Tests.Support;
using OpenQA.Selenium;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>The app page's rates, issues with a life, the device limits and the pages' 404s, in headless Chromium.</summary>
public sealed class AppPagesTests
{
    private static Report.Model.Report Gallery(string id, string version) =>
        Linux(id, version: version, device: "host-" + id, items: [Item("Malloc 8.00 MiB", 400L << 20, 50, Stack(400L << 20, 50, "decode_image", "show_gallery"))]);

    [Fact]
    public async Task RatesSayWhatTheyCountAndIssuesAreResolvedRegressedAndFiltered()
    {
        await using var server = await TestServer.StartAsync("sqlite");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // Device d1: first run, two FOOMs, an exit; device d2 without a version: first run, one FOOM.
        string[] d1 = ["first_run", "foreground_oom", "foreground_oom", "exit"];
        var launches = d1.Select((reason, i) => new { launch_id = $"d1-{i}", app_id = "demo-app", app_version = "1.0", device_id = "d1", launch_time = now - 1000 * (10 - i), prev_exit_reason = reason })
            .Concat(new[] { "first_run", "foreground_oom" }.Select((reason, i) => new { launch_id = $"d2-{i}", app_id = "demo-app", app_version = "", device_id = "d2", launch_time = now - 1000 * (5 - i), prev_exit_reason = reason }));
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/launches", JsonSerializer.Serialize(launches))).StatusCode);
        var cache = Linux("cache-0", items: [Item("Malloc 64 Bytes", 900L << 20, 9_000_000, Stack(900L << 20, 9_000_000, "LruCache::put", "serve"))]);
        cache.Head.Phone = "pixel-7";
        foreach (var report in new[] { Gallery("img-0", "1.0"), Gallery("img-1", "1.0"), cache })
            Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(report))).StatusCode);

        using var driver = Browser.Start(out var profile);
        try
        {
            var url = server.Url.ToString().TrimEnd('/');
            Browser.LogIn(driver, url);
            driver.Navigate().GoToUrl(url + "/apps/demo-app");
            // The issue list comes first; a group of one says so in the singular.
            Assert.True(Top(driver, "issues") < Top(driver, "trends"), "the issues are above the trends");
            Assert.Contains("1 report, 1 issue", driver.FindElement(By.Id("issues")).Text);
            Assert.Contains("2 reports, 1 issue", driver.FindElement(By.Id("issues")).Text);
            var explained = driver.FindElement(By.Id("rates-explained")).Text;
            Assert.Contains("6 launches, 4 previous runs, 3 FOOMs counted; 3 FOOM reports received", explained);
            Assert.Contains("counted on the day the app next starts", explained);
            Browser.WaitFor(driver, () => driver.FindElements(By.CssSelector("#foom-rate .u-legend")).Count == 1, "the FOOM rate chart");
            var legend = driver.FindElement(By.CssSelector("#foom-rate .u-legend")).Text;
            Assert.Contains("version unknown", legend);
            Assert.Contains("v1.0", legend);
            Assert.DoesNotContain("vunknown", legend);
            Assert.Contains("3 runs of 4 previous runs", driver.FindElement(By.Id("foom-rate")).Text);
            Browser.Screenshot(driver, "app");

            // Resolve the gallery issue in 1.0: another 1.0 report leaves it resolved, a 1.1 report shows it regressed.
            driver.FindElement(By.LinkText("show_gallery (demo)")).Click();
            var issueUrl = driver.Url;
            Assert.Equal("open", driver.FindElement(By.CssSelector("#issue-state .state")).Text);
            driver.FindElement(By.Id("resolve")).Click();
            Assert.Equal("resolved", driver.FindElement(By.CssSelector("#issue-state .state")).Text);
            Assert.Contains("in v1.0", driver.FindElement(By.Id("issue-state")).Text);
            Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Gallery("img-2", "1.0")))).StatusCode);
            driver.Navigate().GoToUrl(issueUrl);
            Assert.Equal("resolved", driver.FindElement(By.CssSelector("#issue-state .state")).Text);
            Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Gallery("img-3", "1.10")))).StatusCode);
            driver.Navigate().GoToUrl(issueUrl);
            Assert.Equal("regressed", driver.FindElement(By.CssSelector("#issue-state .state")).Text);
            var versions = driver.FindElements(By.CssSelector("#versions tr")).Skip(1).Select(r => r.FindElements(By.TagName("td"))[0].Text).ToList();
            Assert.Equal(["v1.10", "v1.0"], versions);
            Assert.Contains("4 reports from 4 devices", driver.FindElement(By.Id("eigenvalue")).Text);
            Browser.WaitFor(driver, () => driver.FindElements(By.CssSelector("#issue-trend .uplot canvas")).Count == 1, "the issue's trend");
            Assert.Contains("devices", driver.FindElement(By.CssSelector("#issue-trend .u-legend")).Text);
            Browser.Screenshot(driver, "issue-regressed");

            // Search and filters.
            driver.Navigate().GoToUrl(url + "/apps/demo-app/issues");
            Assert.Equal(2, Issues(driver).Count);
            driver.FindElement(By.CssSelector("#f-state option[value='regressed']")).Click();
            driver.FindElement(By.Id("filter")).Click();
            Assert.Equal(["decode_image (demo)"], Issues(driver));
            driver.Navigate().GoToUrl(url + "/apps/demo-app/issues?Device=pixel-7");
            Assert.Equal(["LruCache::put (demo)"], Issues(driver));
            driver.Navigate().GoToUrl(url + "/apps/demo-app/issues?Caller=GALLERY&Version=1.10");
            Assert.Equal(["decode_image (demo)"], Issues(driver));
            Assert.Equal("1", driver.FindElement(By.CssSelector("#issue-list tr.issue td.num")).Text);
            Browser.Screenshot(driver, "issues-filtered");
            driver.Navigate().GoToUrl(url + "/apps/demo-app/issues?Category=100%25");
            Assert.Empty(Issues(driver));
        }
        finally
        {
            driver.Quit();
            try { Directory.Delete(profile, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task LimitsCountOnlyFrontmostAppsAndUnknownThingsAnswerA404Page()
    {
        await using var server = await TestServer.StartAsync("sqlite");
        foreach (var log in new[] { "real/faisalmemon_book__iOS12.4_iPhone11,6_vm-pageshortage_proc-thrashing_per-process-limit.ips", "variants/iOS16.2_iPhone13,2_per-process-limit_freeze-skip-reason.ips" })
        {
            var jetsam = server.Ingest(HttpMethod.Post, "/api/v1/jetsam");
            jetsam.Content = new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Jetsam", log)));
            Assert.Equal(HttpStatusCode.Accepted, (await server.Client.SendAsync(jetsam)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Gallery("img-0", "1.0")))).StatusCode);

        using var driver = Browser.Start(out var profile);
        try
        {
            var url = server.Url.ToString().TrimEnd('/');
            Browser.LogIn(driver, url);
            driver.Navigate().GoToUrl(url + "/limits");
            // backboardd, a daemon killed at its own 512 MiB limit on an iPhone11,6, is no app limit.
            var limits = driver.FindElement(By.Id("limits")).Text;
            Assert.Contains("iPhone13,2 JetsamEvent (frontmost app) 1 1.37 GiB", limits);
            Assert.DoesNotContain("iPhone11,6", limits);
            var backboardd = driver.FindElements(By.CssSelector("#kills tr.kill")).Single(r => r.Text.Contains("backboardd"));
            var cells = backboardd.FindElements(By.TagName("td")).Select(c => c.Text).ToList();
            Assert.Equal("2019-08-05 22:06 UTC", cells[0]);
            Assert.Equal(["iPhone11,6", "no", "daemon", "per-process-limit"], new[] { cells[1], cells[4], cells[5], cells[6] });
            Assert.Equal("", cells[9]);
            var wechat = driver.FindElements(By.CssSelector("#kills tr.kill")).Single(r => r.Text.Contains("WeChat"));
            Assert.Equal("2023-01-12 01:14 UTC", wechat.FindElements(By.TagName("td"))[0].Text);
            Assert.Equal("app limit", wechat.FindElements(By.TagName("td"))[9].Text);
            Browser.Screenshot(driver, "limits");

            // Unknown apps, issues, reports and paths answer 404 with a page that says what was not found.
            foreach (var (path, message) in new[]
            {
                ("/apps/no-such-app", "No report or launch record of an app 'no-such-app'"),
                ("/apps/demo-app/issues/nope", "demo-app has no issue 'nope'"),
                ("/reports/nope", "No report has the id 'nope'"),
                ("/no/such/page", "Nothing is at /no/such/page"),
            })
            {
                driver.Navigate().GoToUrl(url + path);
                Assert.Equal("404 · Not Found", driver.FindElement(By.Id("error-title")).Text);
                Assert.Contains(message, driver.FindElement(By.Id("error-message")).Text);
                var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Add("Cookie", string.Join("; ", driver.Manage().Cookies.AllCookies.Select(c => $"{c.Name}={c.Value}")));
                var response = await server.Client.SendAsync(request);
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                Assert.Contains("text/html", response.Content.Headers.ContentType?.ToString());
            }
            Browser.Screenshot(driver, "not-found");

            // The API reference page renders the OpenAPI document: its description and the read endpoints' group.
            driver.Navigate().GoToUrl(url + "/api-reference");
            Browser.WaitFor(driver, () => driver.FindElement(By.TagName("body")).Text is var text
                && text.Contains("Errors are RFC 7807 problem details") && text.Contains(Api.ReadEndpoints.Tag), "the API reference");
            Browser.Screenshot(driver, "api-reference");
            driver.Navigate().GoToUrl(url + "/apps/demo-app/reports");
            Assert.Contains("img-0", driver.FindElement(By.Id("reports")).Text);
            Browser.Screenshot(driver, "reports");
        }
        finally
        {
            driver.Quit();
            try { Directory.Delete(profile, true); } catch (IOException) { }
        }
    }

    private static List<string> Issues(IWebDriver driver) =>
        driver.FindElements(By.CssSelector("#issue-list tr.issue td:first-child")).Select(e => e.Text).ToList();

    private static double Top(IWebDriver driver, string id) =>
        Convert.ToDouble(Browser.Script(driver, $"return document.getElementById('{id}').getBoundingClientRect().top;"));
}
