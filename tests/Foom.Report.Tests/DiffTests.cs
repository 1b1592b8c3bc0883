using System.Text.RegularExpressions;
using Foom.Report.Diff;
using Foom.Report.Tests.Support;
using Foom.Report.Views;

namespace Foom.Report.Tests;

public class DiffTests
{
    /// <summary>Two runs of one program: the cache grew, the parser shrank, a new loader appeared, the logger went away.</summary>
    internal static (Model.Report Before, Model.Report After) TwoRuns()
    {
        var before = new TestHeap();
        var cacheB = before.Stack(0x100, 0x900);
        var parserB = before.Stack(0x200, 0x900);
        var loggerB = before.Stack(0x300, 0x900);
        before.Malloc(cacheB, 64, 100);
        before.Malloc(parserB, 4096, 10);
        before.Malloc(loggerB, 256, 7);

        var after = new TestHeap();
        // Created in another order: stack ids differ between the sessions, frames do not.
        var loader = after.Stack(0x400, 0x900);
        var parserA = after.Stack(0x200, 0x900);
        var cacheA = after.Stack(0x100, 0x900);
        after.Malloc(cacheA, 64, 300);
        after.Malloc(parserA, 4096, 4);
        after.Malloc(loader, 1 << 20, 2);
        return (before.Build(), after.Build());
    }

    [Fact]
    public void CategoriesAndStacksAreComparedByNameAndFrames()
    {
        var (before, after) = TwoRuns();
        var diff = ReportDiff.Compare(before, after);

        Assert.Equal(before.Head.LiveBytes, diff.Before.LiveBytes);
        Assert.Equal(after.Head.LiveBytes, diff.After.LiveBytes);
        var byName = diff.Categories.ToDictionary(c => c.Name);
        Assert.Equal(2L << 20, byName["Malloc 1.00 MiB"].SizeChange);
        Assert.Equal(200 * 64, byName["Malloc 64 Bytes"].SizeChange);
        Assert.Equal(200, byName["Malloc 64 Bytes"].CountChange);
        Assert.Equal(-6 * 4096, byName["Malloc 4.00 KiB"].SizeChange);
        Assert.Equal(-7 * 256, byName["Malloc 256 Bytes"].SizeChange);
        Assert.Equal(diff.Categories.Select(c => c.SizeChange).OrderDescending(), diff.Categories.Select(c => c.SizeChange));

        // The cache's stack is one stack in both runs although its id differs.
        var cache = Assert.Single(diff.Stacks, s => s.Name == "Malloc 64 Bytes");
        Assert.Equal((100 * 64L, 300 * 64L), (cache.BeforeSize, cache.AfterSize));
        Assert.Equal("app+0x100", cache.Caller);
        // Stack changes add up to each category's change.
        foreach (var category in diff.Categories)
            Assert.Equal(category.SizeChange, diff.Stacks.Where(s => s.Name == category.Name).Sum(s => s.SizeChange));
    }

    [Fact]
    public void CollapsedDiffsGiveFlameGraphToolsPositiveWeights()
    {
        var (before, after) = TwoRuns();
        var diff = ReportDiff.Compare(before, after);
        var line = new Regex(@"^(?<path>.+) (?<weight>-?[0-9]+)$");

        long Sum(DiffSelection selection, out string[] lines)
        {
            var output = new StringWriter();
            DiffViews.WriteCollapsed(diff, selection, output);
            lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return lines.Sum(l => long.Parse(line.Match(l).Groups["weight"].Value));
        }

        var grown = Sum(DiffSelection.GrownOnly, out var grownLines);
        var shrunk = Sum(DiffSelection.ShrunkOnly, out var shrunkLines);
        var signed = Sum(DiffSelection.Signed, out var signedLines);
        Assert.All(grownLines.Concat(shrunkLines), l => Assert.DoesNotContain(" -", l));
        Assert.Equal(diff.Stacks.Where(s => s.SizeChange > 0).Sum(s => s.SizeChange), grown);
        Assert.Equal(-diff.Stacks.Where(s => s.SizeChange < 0).Sum(s => s.SizeChange), shrunk);
        Assert.Equal(after.Head.LiveBytes - before.Head.LiveBytes, signed);
        Assert.Equal(grown - shrunk, signed);
        Assert.Contains(grownLines, l => l.StartsWith("app+0x900;app+0x400;libc.so.6+0x9a0e0;[Malloc 1.00 MiB] ", StringComparison.Ordinal));
        Assert.Contains(shrunkLines, l => l.EndsWith(";[Malloc 256 Bytes] 1792", StringComparison.Ordinal));
    }

    [Fact]
    public void DiffFoldedHasBothSidesAndAddsUpToEachReport()
    {
        var (before, after) = TwoRuns();
        var output = new StringWriter();
        DiffViews.WriteDiffFolded(ReportDiff.Compare(before, after), output);
        var pattern = new Regex(@"^(?<path>[^ ].*) (?<before>[0-9]+) (?<after>[0-9]+)$");
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => pattern.Match(l)).ToList();
        Assert.All(lines, m => Assert.True(m.Success));
        Assert.Equal(before.Head.LiveBytes, lines.Sum(m => long.Parse(m.Groups["before"].Value)));
        Assert.Equal(after.Head.LiveBytes, lines.Sum(m => long.Parse(m.Groups["after"].Value)));
    }

    [Fact]
    public void TheTextViewNamesWhatGrewAndWhatShrank()
    {
        var (before, after) = TwoRuns();
        var writer = new StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Ansi = Spectre.Console.AnsiSupport.No,
            ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
            Out = new Spectre.Console.AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 160;
        DiffViews.RenderText(ReportDiff.Compare(before, after), console);
        var text = writer.ToString();
        Assert.Contains("Categories that grew", text);
        Assert.Contains("+2.00 MiB", text);
        Assert.Contains("app+0x400  in Malloc 1.00 MiB", text);
        Assert.Contains("Stacks that shrank", text);
        Assert.Contains("-24.00 KiB", text);
    }

    [Fact]
    public void AStackListedInOneReportOnlyMovesToTheUnlistedPath()
    {
        var (before, trimmed) = TwoRuns();
        var item = trimmed.Items.Single(i => i.Name == "Malloc 64 Bytes");
        item.Stacks.Clear();   // as a budget would have left it
        var diff = ReportDiff.Compare(before, trimmed);
        var unlisted = diff.Stacks.Single(s => s.Frames[0] == FoldedStacks.UnlistedRoot && s.Name == "Malloc 64 Bytes");
        Assert.Equal(300 * 64, unlisted.AfterSize);
        Assert.Equal(200 * 64, diff.Categories.Single(c => c.Name == "Malloc 64 Bytes").SizeChange);
    }
}
