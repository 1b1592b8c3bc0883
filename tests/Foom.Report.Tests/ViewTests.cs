using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Foom.Report.IO;
using Foom.Report.Tests.Support;
using Foom.Report.Views;
using Spectre.Console;

namespace Foom.Report.Tests;

/// <summary>The text, collapsed and speedscope views of a report, each parsed back.</summary>
public class ViewTests
{
    internal static Model.Report SampleReport()
    {
        var heap = new TestHeap();
        var load = heap.Stack(0x1100, 0x1200, 0x1300);
        var cache = heap.Stack(0x2100, 0x1300);
        heap.Malloc(load, 48, 2000);
        heap.Malloc(cache, 48, 10);
        heap.Malloc(cache, 4 << 20, 3);
        heap.Typed(load, 9, "Chat;Message", 300, 5);   // a ';' in a name must not split a collapsed line
        for (var i = 0; i < 30; i++) heap.Malloc(heap.Stack(0x3000 + (ulong)i), 2000 + i * 16 * 40);
        var report = heap.Build();
        report.Head.AppId = "chat";
        report.Head.ExitReason = "foreground_oom";
        report.Head.ExitHow = "observed";
        report.Head.ExitEvidence = ["cgroup memory.events oom_kill 0 -> 1", "kernel: Killed process 4242 (chat)"];
        report.Head.LimitBytes = 64L << 20;
        report.Head.FootprintSamples = Enumerable.Range(0, 40).Select(i => new[] { 1_700_000_000_000L + i * 250, (long)(i + 1) << 20 }).ToList();
        report.Modules[0].Name = "chat";
        report.Items[0].Stacks[0].Frames[1].Function = "Cache::grow(unsigned long)";
        report.Items[0].Stacks[0].Frames[1].File = "/src/cache.cpp";
        report.Items[0].Stacks[0].Frames[1].Line = 42;
        return report;
    }

    [Fact]
    public void CollapsedLinesAreFoldedStacksWhoseWeightsAddUpToTheLiveBytes()
    {
        var report = SampleReport();
        var output = new StringWriter();
        CollapsedView.Write(report, output);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        var pattern = new Regex(@"^(?<stack>[^\n]+) (?<bytes>[0-9]+)$");
        long total = 0;
        foreach (var line in lines)
        {
            var match = pattern.Match(line);
            Assert.True(match.Success, line);
            total += long.Parse(match.Groups["bytes"].Value);
            var frames = match.Groups["stack"].Value.Split(';');
            Assert.StartsWith("[", frames[^1]);   // the category is the leaf
        }
        Assert.Equal(report.Head.LiveBytes, total);
        Assert.Equal(lines.Length, lines.Distinct().Count());
        // Outermost first: the biggest stack's line ends with its app frames then libc's malloc then the category.
        Assert.Contains(lines, l => l.StartsWith("chat+0x1300;Cache::grow(unsigned long);libc.so.6+0x9a0e0;[Malloc 4.00 MiB] ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("[Chat,Message]", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(FoldedStacks.UnlistedRoot + ";", StringComparison.Ordinal));
    }

    [Fact]
    public void SpeedscopeJsonFollowsTheFileFormatAndAddsUpToTheLiveTotals()
    {
        var report = SampleReport();
        using var buffer = new MemoryStream();
        SpeedscopeView.Write(report, "chat", buffer);
        using var document = JsonDocument.Parse(buffer.ToArray());
        var root = document.RootElement;

        Assert.Equal("https://www.speedscope.app/file-format-schema.json", root.GetProperty("$schema").GetString());
        var frames = root.GetProperty("shared").GetProperty("frames").EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToList();
        Assert.Equal(frames.Count, frames.Distinct().Count());
        var profiles = root.GetProperty("profiles").EnumerateArray().ToList();
        Assert.Equal(2, profiles.Count);
        var expectedTotals = new[] { report.Head.LiveBytes, report.Head.LiveCount };
        string[] units = ["bytes", "none"];
        for (var p = 0; p < 2; p++)
        {
            var profile = profiles[p];
            Assert.Equal("sampled", profile.GetProperty("type").GetString());
            Assert.Equal(units[p], profile.GetProperty("unit").GetString());
            var samples = profile.GetProperty("samples").EnumerateArray().ToList();
            var weights = profile.GetProperty("weights").EnumerateArray().Select(w => w.GetInt64()).ToList();
            Assert.Equal(samples.Count, weights.Count);
            Assert.All(weights, w => Assert.True(w > 0));
            Assert.Equal(expectedTotals[p], weights.Sum());
            Assert.Equal(weights.Sum(), profile.GetProperty("endValue").GetInt64() - profile.GetProperty("startValue").GetInt64());
            foreach (var sample in samples)
            {
                var indices = sample.EnumerateArray().Select(i => i.GetInt32()).ToList();
                Assert.All(indices, i => Assert.InRange(i, 0, frames.Count - 1));
                Assert.StartsWith("[", frames[indices[^1]]);   // root first, the category last
            }
        }
        Assert.Contains("Cache::grow(unsigned long)", frames);
        var grow = root.GetProperty("shared").GetProperty("frames")[frames.IndexOf("Cache::grow(unsigned long)")];
        Assert.Equal(("/src/cache.cpp", 42), (grow.GetProperty("file").GetString(), grow.GetProperty("line").GetInt32()));
    }

    [Fact]
    public void TheTextViewShowsTheVerdictCategoriesStacksAndFootprint()
    {
        var report = SampleReport();
        var text = Render(report);

        Assert.Contains("Killed for memory (foreground OOM)", text);
        Assert.Contains("foreground_oom (observed)", text);
        Assert.Contains("kernel: Killed process 4242 (chat)", text);
        Assert.Contains("64.00 MiB", text);                       // the limit
        Assert.Contains("Footprint", text);
        Assert.Contains("Malloc 4.00 MiB", text);
        Assert.Contains("Top stacks", text);
        Assert.Contains("Cache::grow(unsigned long) (cache.cpp:42)", text);
        Assert.Contains(report.Items.Count > 25 ? "more categories" : "Malloc 48 Bytes", text);
    }

    [Fact]
    public void TheTextViewSaysWhatTheReportLeavesOut()
    {
        var report = SampleReport();
        report.Head.Trimmed!.BudgetStacks = 12;
        report.Head.Trimmed.BudgetBytes = 4096;
        report.Head.Recovery = ["the live-allocation tree was rebuilt from its node array"];
        report.Head.LiveSnapshot = true;
        report.Head.DroppedEvents = 7;
        var text = Render(report);

        Assert.Contains("12 stacks (4.00 KiB) were left out", text);
        Assert.Contains("needed recovery", text);
        Assert.Contains("still being recorded", text);
        Assert.Contains("7 events were dropped", text);
    }

    internal static string Render(Model.Report report)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(writer),
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 160;
        TextView.Render(report, console);
        return writer.ToString();
    }
}
