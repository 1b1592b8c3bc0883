using System.Globalization;
using Foom.Report.Views;
using Spectre.Console;

namespace Foom.Report.Diff;

/// <summary>Which changes a collapsed view of a diff keeps.</summary>
public enum DiffSelection
{
    /// <summary>Every change, with signed weights (negative for what shrank).</summary>
    Signed,
    /// <summary>Only what grew, weighted by the growth.</summary>
    GrownOnly,
    /// <summary>Only what shrank, weighted by the bytes released (positive).</summary>
    ShrunkOnly,
}

/// <summary>
/// A diff as a person reads it (tables) and as flame-graph tools read it. Flame-graph tools take
/// positive weights only, so a diff is given to them in one of three ways: `--grown-only` and
/// `--shrunk-only` (two ordinary collapsed files, one per direction), or `difffolded`
/// (`path BEFORE AFTER`, the two-column form of difffolded.pl that flamegraph.pl and
/// inferno-flamegraph draw as a differential flame graph: red grew, blue shrank). The signed
/// form (`path -4096`) is for scripts.
/// </summary>
public static class DiffViews
{
    public static void WriteCollapsed(ReportDiff diff, DiffSelection selection, TextWriter output)
    {
        foreach (var stack in diff.Stacks)
        {
            var change = stack.SizeChange;
            var weight = selection switch
            {
                DiffSelection.GrownOnly => change > 0 ? change : 0,
                DiffSelection.ShrunkOnly => change < 0 ? -change : 0,
                _ => change,
            };
            if (weight == 0) continue;
            output.Write(string.Create(CultureInfo.InvariantCulture, $"{Line(stack)} {weight}\n"));
        }
    }

    /// <summary>`path BEFORE AFTER` for every path of either report (a path with no change too: it shapes the graph).</summary>
    public static void WriteDiffFolded(ReportDiff diff, TextWriter output)
    {
        foreach (var stack in diff.Stacks)
        {
            if (stack.BeforeSize == 0 && stack.AfterSize == 0) continue;
            output.Write(string.Create(CultureInfo.InvariantCulture, $"{Line(stack)} {stack.BeforeSize} {stack.AfterSize}\n"));
        }
    }

    private static string Line(StackChange stack) => string.Join(';', stack.Frames.Select(FoldedStacks.Clean));

    public static void RenderText(ReportDiff diff, IAnsiConsole console, int rows = 15)
    {
        var summary = new Table().Border(TableBorder.Rounded).Title("[bold]Live memory, before and after[/]")
            .AddColumn("").AddColumn(new TableColumn("before").RightAligned()).AddColumn(new TableColumn("after").RightAligned()).AddColumn(new TableColumn("change").RightAligned());
        summary.AddRow(new Text("report"), new Text(diff.Before.ReportId ?? "-"), new Text(diff.After.ReportId ?? "-"), new Text(""));
        summary.AddRow(new Text("exit"), new Text(diff.Before.ExitReason ?? "-"), new Text(diff.After.ExitReason ?? "-"), new Text(""));
        summary.AddRow(new Text("live bytes"), new Text(FrameLabels.Bytes(diff.Before.LiveBytes)), new Text(FrameLabels.Bytes(diff.After.LiveBytes)),
            Signed(diff.After.LiveBytes - diff.Before.LiveBytes, bytes: true));
        summary.AddRow(new Text("live blocks"), new Text(Count(diff.Before.LiveCount)), new Text(Count(diff.After.LiveCount)),
            Signed(diff.After.LiveCount - diff.Before.LiveCount, bytes: false));
        if (diff.Before.PeakFootprintBytes is long b && diff.After.PeakFootprintBytes is long a)
            summary.AddRow(new Text("peak footprint"), new Text(FrameLabels.Bytes(b)), new Text(FrameLabels.Bytes(a)), Signed(a - b, bytes: true));
        console.Write(summary);

        console.Write(ChangeTable("Categories that grew", diff.Categories.Where(c => c.SizeChange > 0).Take(rows), c => c.Name));
        console.Write(ChangeTable("Categories that shrank", diff.Categories.Where(c => c.SizeChange < 0).Reverse().Take(rows), c => c.Name));
        console.Write(ChangeTable("Stacks that grew", diff.Stacks.Where(c => c.SizeChange > 0).Take(rows), StackLabel));
        console.Write(ChangeTable("Stacks that shrank", diff.Stacks.Where(c => c.SizeChange < 0).Reverse().Take(rows), StackLabel));
    }

    private static string StackLabel(Change change)
    {
        var stack = (StackChange)change;
        var where = stack.Frames.Count > 1 && stack.Frames[0] == FoldedStacks.UnlistedRoot
            ? FoldedStacks.UnlistedRoot
            : stack.Caller ?? (stack.Frames.Count > 1 ? stack.Frames[^2] : "(no frames)");
        return $"{where}  in {stack.Name}";
    }

    private static Table ChangeTable<T>(string title, IEnumerable<T> changes, Func<T, string> label) where T : Change
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(title)}[/]")
            .AddColumn("").AddColumn(new TableColumn("before").RightAligned()).AddColumn(new TableColumn("after").RightAligned())
            .AddColumn(new TableColumn("change").RightAligned()).AddColumn(new TableColumn("blocks").RightAligned());
        var any = false;
        foreach (var change in changes)
        {
            any = true;
            table.AddRow(new Text(label(change)), new Text(FrameLabels.Bytes(change.BeforeSize)), new Text(FrameLabels.Bytes(change.AfterSize)),
                Signed(change.SizeChange, bytes: true), Signed(change.CountChange, bytes: false));
        }
        if (!any) table.AddRow(new Markup("[grey]none[/]"), new Text(""), new Text(""), new Text(""), new Text(""));
        return table;
    }

    private static Markup Signed(long change, bool bytes)
    {
        var text = change == 0 ? "0" : (change > 0 ? "+" : "-") + (bytes ? FrameLabels.Bytes(Math.Abs(change)) : Count(Math.Abs(change)));
        var colour = change > 0 ? "red" : change < 0 ? "green" : "grey";
        return new Markup($"[{colour}]{Markup.Escape(text)}[/]");
    }

    private static string Count(long count) => count.ToString("N0", CultureInfo.InvariantCulture);
}
