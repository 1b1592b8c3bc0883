using System.Globalization;
using Foom.Report.Model;
using Spectre.Console;

namespace Foom.Report.Views;

/// <summary>The caller view as the text report's first table: who holds the live memory, across all size classes.</summary>
internal static class CallerTable
{
    public static Table? Of(Model.Report report, FrameLabels labels, int rows)
    {
        if (report.Callers is not { BottomUp.Count: > 0 } callers) return null;
        var total = Math.Max(1, callers.TotalBytes);
        var table = new Table().Border(TableBorder.Rounded)
            .Title("[bold]Live memory by caller[/] (the allocating function, allocator frames skipped; all categories)")
            .AddColumn(new TableColumn("#").RightAligned())
            .AddColumn("caller")
            .AddColumn(new TableColumn("size").RightAligned())
            .AddColumn(new TableColumn("blocks").RightAligned())
            .AddColumn(new TableColumn("share").RightAligned())
            .AddColumn("in")
            .AddColumn("called from");
        var shown = callers.BottomUp.Take(rows).ToList();
        for (var i = 0; i < shown.Count; i++)
        {
            var caller = shown[i];
            var from = caller.CalledFrom is { Count: > 0 } outer ? Name(outer[0], labels) + (outer.Count > 1 ? $" (+{outer.Count - 1})" : "") : "";
            table.AddRow(
                new Text((i + 1).ToString(CultureInfo.InvariantCulture)),
                new Text(Name(caller, labels)),
                new Text(FrameLabels.Bytes(caller.Size) + (caller.SizeBound is { } sizeBound ? $" ±{FrameLabels.Bytes(sizeBound)}" : "")),
                new Text(caller.Count.ToString("N0", CultureInfo.InvariantCulture) + (caller.CountBound is { } countBound ? $" ±{countBound.ToString("N0", CultureInfo.InvariantCulture)}" : "")),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{100.0 * caller.Size / total:0.0}%")),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{caller.Categories} {(caller.Categories == 1 ? "category" : "categories")}, {caller.Stacks} {(caller.Stacks == 1 ? "stack" : "stacks")}")),
                new Text(from));
        }
        var rest = callers.Callers - shown.Count;
        if (rest > 0)
        {
            var restBytes = callers.TotalBytes - shown.Sum(c => c.Size);
            table.AddRow(new Text(""), new Markup($"[grey]{rest.ToString("N0", CultureInfo.InvariantCulture)} more callers[/]"), new Text(FrameLabels.Bytes(restBytes)),
                new Text((callers.TotalCount - shown.Sum(c => c.Count)).ToString("N0", CultureInfo.InvariantCulture)),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{100.0 * restBytes / total:0.0}%")), new Text(""), new Text(""));
        }
        return table;
    }

    /// <summary>The function, else module+0xOFFSET as frames read.</summary>
    public static string Name(ReportCaller caller, FrameLabels labels)
    {
        if (!string.IsNullOrEmpty(caller.Function))
        {
            // A Python function has no module; its file and line say where it is.
            if (caller.Module is null && caller.File is { } file)
                return caller.Line is { } line ? $"{caller.Function} ({file}:{line.ToString(CultureInfo.InvariantCulture)})" : $"{caller.Function} ({file})";
            return caller.Module is null ? caller.Function : $"{caller.Function} ({caller.Module})";
        }
        return caller.Caller.Contains('@') ? labels.Label(caller.Frame()) : caller.Caller;
    }
}
