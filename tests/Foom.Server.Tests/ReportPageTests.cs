using System.Net;
using System.Text.Json;
using Foom.Report.Model;
using Foom.Server.Tests.Support;
using OpenQA.Selenium;
using OpenQA.Selenium.Interactions;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests;

/// <summary>The report page in headless Chromium: the head of a Matrix report, the call trees, the flame graph and the footprint chart.</summary>
public sealed class ReportPageTests
{
    /// <summary>One leak (cache_put, with its source line) spread over two size categories, and a gallery beside it.</summary>
    private static Report.Model.Report Leak(long start)
    {
        var small = Stack(60L << 20, 1_000_000, "cache_put", "serve");
        var large = Stack(70L << 20, 70_000, "cache_put", "serve");
        foreach (var stack in new[] { small, large }) (stack.Frames[2].File, stack.Frames[2].Line) = ("/src/cache.c", 42);
        var report = Linux("leak-1", limit: 512L << 20,
            items: [Item("Malloc 64 Bytes", 60L << 20, 1_000_000, small), Item("Malloc 1.00 KiB", 70L << 20, 70_000, large),
                    Item("Malloc 8.00 MiB", 100L << 20, 12, Stack(100L << 20, 12, "decode_image", "show_gallery"))]);
        report.Head.LaunchTime = start;
        // Three samples from 2 s on, and a warning at 0.5 s: before the first sample.
        report.Head.FootprintSamples = [[start + 2000, 200L << 20], [start + 3000, 260L << 20], [start + 4000, 300L << 20]];
        report.Head.Warnings = [new ReportWarning { Time = start + 500, FootprintBytes = 150L << 20, LimitBytes = 512L << 20, Source = "threshold" }];
        report.Head.PythonFrames = [new ReportPythonFrames { Pid = 4242, State = "missing", Detail = "Python frames missing: CPython 3.12.0 is not supported (Python frames are read from CPython 3.11 only)" }];
        // Started by a shell script, the server was the OOM killer's victim; a static helper was not recorded.
        report.ProcessTree = new ReportProcessTree
        {
            Pid = 4002, Victim = true, Parents = [4001], GroupUsageBytes = 512L << 20,
            Processes =
            [
                new ReportProcess { Pid = 4001, Command = ["/bin/sh", "/entrypoint.sh"], RssBytes = 1L << 20, ExitReason = "exit" },
                new ReportProcess { Pid = 4002, ParentPid = 4001, Command = ["/app/server"], RssBytes = 384L << 20, LiveBytes = 230L << 20, ExitReason = "foreground_oom", Session = "processes/4002" },
                new ReportProcess { Pid = 4003, ParentPid = 4001, Command = ["/app/helper"], RssBytes = 64L << 20, NotRecorded = "statically linked (/app/helper): the hook cannot load into it" },
            ],
        };
        return report;
    }

    [Fact]
    public async Task TheReportPageLeadsWithCallersAndDrawsAFlameGraphAndTheFootprintWithLibraries()
    {
        await using var server = await TestServer.StartAsync("sqlite");
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
        Assert.Equal(HttpStatusCode.Accepted, (await server.PostJsonAsync("/api/v1/reports", Json(Leak(start)))).StatusCode);
        var matrix = await server.PostJsonAsync("/api/v1/matrix/memstat?app=demo-app", Matrix());
        Assert.Equal(HttpStatusCode.Accepted, matrix.StatusCode);
        var matrixId = JsonDocument.Parse(await matrix.Content.ReadAsStringAsync()).RootElement.GetProperty("report_id").GetString()!;

        using var driver = Browser.Start(out var profile);
        try
        {
            var url = server.Url.ToString().TrimEnd('/');
            Browser.LogIn(driver, url);

            // A Matrix report shows what the server filed (the API's figures), not the upload's blank head.
            driver.Navigate().GoToUrl($"{url}/reports/{Uri.EscapeDataString(matrixId)}");
            Assert.StartsWith("foreground_oom", driver.FindElement(By.Id("exit")).Text);
            var live = driver.FindElement(By.Id("live")).Text;
            Assert.EndsWith(" in 103,012 allocations", live);
            Assert.StartsWith("2.98 GiB", live);
            var footprint = driver.FindElement(By.Id("footprint")).Text;
            Assert.DoesNotContain("()", footprint);
            Assert.DoesNotContain("peak ,", footprint);
            Assert.Contains("not in the report", footprint);
            Browser.Screenshot(driver, "report-matrix");

            // Top-down without system frames: no allocator frame, the outermost frames at the root.
            driver.Navigate().GoToUrl($"{url}/reports/leak-1");
            // The head says why the stacks have no Python frames.
            var python = driver.FindElement(By.CssSelector("td.python-frames"));
            Assert.Equal("pid 4242: Python frames missing: CPython 3.12.0 is not supported (Python frames are read from CPython 3.11 only)", python.Text);
            Assert.Contains("error", python.GetAttribute("class"));
            // The run's processes, the server (this report, the victim) under the script, with its share of the group.
            var processes = driver.FindElements(By.CssSelector("#process-tree tr.process")).Select(r => r.Text).ToList();
            Assert.Equal(3, processes.Count);
            Assert.StartsWith("4001 /bin/sh /entrypoint.sh", processes[0]);
            Assert.Contains("4002 /app/server ◀ this report", processes[1]);
            Assert.Contains("75 %", processes[1]);
            Assert.Contains("statically linked", processes[2]);
            var tree = driver.FindElement(By.Id("calltree"));
            Assert.DoesNotContain("malloc", tree.Text);
            Assert.DoesNotContain("foom_malloc", tree.Text);
            var topLevel = TopLevelFrames(driver);
            Assert.Equal(["serve (demo)", "show_gallery (demo)"], topLevel.Select(f => f.Name));
            Assert.Equal("130 MiB", topLevel[0].Bytes);
            Browser.Screenshot(driver, "report");

            // Inverted: the one leak spread over two size categories is one caller with its source line.
            driver.FindElement(By.Id("tab-inverted")).Click();
            Browser.WaitFor(driver, () => driver.Url.Contains("tree=inverted"), "the inverted tree");
            topLevel = TopLevelFrames(driver);
            Assert.Equal("cache_put (demo)", topLevel[0].Name);
            Assert.Equal("130 MiB", topLevel[0].Bytes);
            Assert.Equal("1,070,000", topLevel[0].Blocks);
            var source = driver.FindElement(By.CssSelector("#calltree a.src"));
            Assert.Equal("/src/cache.c:42", source.Text);
            Assert.Equal("vscode://file/src/cache.c:42", source.GetAttribute("href"));
            Browser.Screenshot(driver, "report-inverted");

            // System frames shown: the allocator is the innermost frame, so it leads the inverted tree.
            driver.FindElement(By.Id("toggle-system")).Click();
            Browser.WaitFor(driver, () => driver.Url.Contains("system=show"), "system frames");
            Assert.Equal("foom_malloc (libfoomhook.so)", TopLevelFrames(driver)[0].Name);
            Assert.Contains("system", driver.FindElement(By.CssSelector("#calltree .frame.system")).GetAttribute("class"));

            // The flame graph (d3-flame-graph): full label on hover, search, click to focus.
            driver.Navigate().GoToUrl($"{url}/reports/leak-1");
            Browser.WaitFor(driver, () => driver.FindElements(By.CssSelector("#flame svg g.frame")).Count >= 6, "the flame graph");
            var frame = driver.FindElement(By.CssSelector("#flame g.frame[name='cache_put (demo)']"));
            new Actions(driver).MoveToElement(frame).Perform();
            Browser.WaitFor(driver, () => driver.FindElement(By.Id("flame-details")).Text.StartsWith("cache_put (demo) — 130 MiB"), "the hover label");
            Assert.Contains("at /src/cache.c:42", driver.FindElement(By.Id("flame-details")).Text);
            driver.FindElement(By.Id("flame-search")).SendKeys("gallery");
            Browser.WaitFor(driver, () => driver.FindElement(By.Id("flame-details")).Text.Contains("1 frame(s) match, 100 MiB"), "the search result");
            var svgWidth = Width(driver, "#flame svg");
            Assert.True(Width(driver, "#flame g.frame[name='cache_put (demo)'] rect") < svgWidth * 0.6);
            driver.FindElement(By.CssSelector("#flame g.frame[name='cache_put (demo)']")).Click();
            Browser.WaitFor(driver, () => Width(driver, "#flame g.frame[name='cache_put (demo)'] rect") > svgWidth * 0.95, "the focus on cache_put");
            Browser.Screenshot(driver, "report-flame-focus");
            driver.FindElement(By.Id("flame-reset")).Click();
            Browser.WaitFor(driver, () => Width(driver, "#flame g.frame[name='cache_put (demo)'] rect") < svgWidth * 0.6, "the zoom reset");

            // The footprint chart (uPlot): the warning before the first sample is inside the plot, not over the axis.
            Browser.WaitFor(driver, () => driver.FindElements(By.CssSelector("#timeline-chart .u-over .marker")).Count == 1, "the warning marker");
            var markerLeft = Convert.ToDouble(Browser.Script(driver, "return document.querySelector('#timeline-chart .u-over .marker').getBoundingClientRect().left;"));
            var plotLeft = Convert.ToDouble(Browser.Script(driver, "return document.querySelector('#timeline-chart .u-over').getBoundingClientRect().left;"));
            Assert.True(markerLeft >= plotLeft - 1, $"marker at {markerLeft}, plot from {plotLeft}");
            Assert.Contains("limit 512 MiB", driver.FindElement(By.CssSelector("#timeline-chart .u-legend")).Text);
            Assert.Contains("3 samples, 1 memory warning", driver.FindElement(By.Id("timeline-chart")).Text);

            // The vendored speedscope opens the same report from this server, with the login the pages have.
            driver.Navigate().GoToUrl(driver.FindElement(By.Id("speedscope")).GetAttribute("href")!);
            Browser.WaitFor(driver, () => driver.FindElement(By.TagName("body")).Text is var text && text.Contains("Left Heavy") && text.Contains("demo-app leak-1"),
                "speedscope with the report");
            Browser.Screenshot(driver, "speedscope");
        }
        finally
        {
            driver.Quit();
            try { Directory.Delete(profile, true); } catch (IOException) { }
        }
    }

    private sealed record TreeRow(string Name, string Bytes, string Blocks);

    // The children of the tree's root ("all live stacks"), in the order shown.
    private static List<TreeRow> TopLevelFrames(IWebDriver driver) =>
        driver.FindElements(By.CssSelector("#calltree > ul > li > details > ul > li"))
            .Where(li => li.FindElements(By.CssSelector(".frame")).Count > 0)
            .Select(li =>
            {
                var cells = li.FindElements(By.CssSelector(".row"))[0].FindElements(By.CssSelector(":scope > span"));
                return new TreeRow(cells[0].FindElement(By.CssSelector(".mono")).Text, cells[1].Text, cells[2].Text);
            }).ToList();

    private static double Width(IWebDriver driver, string selector) =>
        Convert.ToDouble(Browser.Script(driver, $"return document.querySelector(\"{selector}\").getBoundingClientRect().width;"));
}
