using System.Globalization;
using Foom.Report.Model;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Foom.Report.Views;

/// <summary>How much of a report the terminal view shows.</summary>
public sealed record TextViewOptions
{
    public int Callers { get; init; } = 10;
    public int Categories { get; init; } = 25;
    public int StackCategories { get; init; } = 5;
    public int StacksPerCategory { get; init; } = 3;
    public int FramesPerStack { get; init; } = 12;
    public int ChartRows { get; init; } = 12;
}

/// <summary>
/// The report for a person at a terminal: the verdict and the run's numbers, a chart of the
/// footprint against the limit, the categories as a table with bars, and the top stacks as a
/// tree. Whatever the report leaves out (trimmed stacks, recovered storage, a live snapshot) is
/// said, never hidden.
/// </summary>
public static class TextView
{
    public static void Render(Model.Report report, IAnsiConsole console, TextViewOptions? options = null)
    {
        options ??= new TextViewOptions();
        var labels = new FrameLabels(report);
        console.Write(Summary(report));
        if (Processes(report) is { } processes) console.Write(processes);
        if (Footprint(report, options) is { } chart) console.Write(chart);
        if (CallerTable.Of(report, labels, options.Callers) is { } callers) console.Write(callers);
        console.Write(Categories(report, options));
        if (ManagedCategories(report, options) is { } managed) console.Write(managed);
        if (Stacks(report, labels, options) is { } tree) console.Write(tree);
        foreach (var note in Notes(report)) console.MarkupLine($"[yellow]note:[/] {Markup.Escape(note)}");
    }

    private static Panel Summary(Model.Report report)
    {
        var head = report.Head;
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        void Row(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value)) grid.AddRow(new Markup($"[grey]{Markup.Escape(name)}[/]"), new Text(value));
        }
        var verdict = head.ExitReason is null ? null
            : head.ExitReason + (head.ExitHow is null ? "" : $" ({head.ExitHow})") + (head.ExitMechanism is { } mechanism ? $", mechanism {mechanism}" : "");
        Row("app", string.Join(" ", new[] { head.AppId, head.AppVersion }.Where(s => !string.IsNullOrEmpty(s))));
        Row("platform", head.Platform ?? "ios (Matrix)");
        Row("report", head.ReportId);
        Row("session", head.SessionId);
        Row("exit", verdict);
        foreach (var evidence in head.ExitEvidence) Row("  evidence", evidence);
        Row("limit", head.LimitBytes is long limit ? FrameLabels.Bytes(limit) : null);
        Row("footprint", head.FootprintBytes is long footprint ? FrameLabels.Bytes(footprint) : null);
        Row("peak footprint", head.PeakFootprintBytes is long peak ? FrameLabels.Bytes(peak) : null);
        Row("oom score", head.OomScore is int score ? string.Create(CultureInfo.InvariantCulture, $"{score} (oom_score_adj {head.OomScoreAdj ?? 0})") : null);
        Row("live", head.NotRecorded is not null ? "not recorded (see the note below)"
            : head.Sampling is { } sampling
                ? $"estimated {FrameLabels.Bytes(head.LiveBytes)} ±{FrameLabels.Bytes(sampling.LiveBytesBound)} in {head.LiveCount.ToString("N0", CultureInfo.InvariantCulture)} ±{sampling.LiveCountBound.ToString("N0", CultureInfo.InvariantCulture)} blocks (95 %), {report.Items.Count(i => !i.IsManaged)} categories"
                : $"{FrameLabels.Bytes(head.LiveBytes)} in {head.LiveCount.ToString("N0", CultureInfo.InvariantCulture)} blocks, {report.Items.Count(i => !i.IsManaged)} categories");
        if (head.NotRecorded is null && head.LiveNotResidentBytes is long notResident)
            Row("  not resident", $"{FrameLabels.Bytes(notResident)} of it (mappings and large blocks not in RAM: reserved and never touched, or swapped out)");
        if (head.Sampling is { } sampled)
            Row("sampled", $"heap blocks under {FrameLabels.Bytes(sampled.SampleBytes)} sampled, one per {FrameLabels.Bytes(sampled.SampleBytes)} on average; {sampled.Samples.ToString("N0", CultureInfo.InvariantCulture)} sampled blocks live: the figures are estimates");
        if (head.Managed is { } managed)
        {
            Row("managed heap", managed.Census is { } census
                ? $"{FrameLabels.Bytes(census.Bytes)} in {census.Count.ToString("N0", CultureInfo.InvariantCulture)} objects of {census.Types.ToString("N0", CultureInfo.InvariantCulture)} types, " +
                  (census.Trigger == "death" && managed.HeapAtDeath is { } dump
                      ? $"at the death {Time(census.Time)}, from the runtime's heap dump ({FrameLabels.Bytes(dump.DumpBytes)}, read in {(dump.ReadMilliseconds / 1000).ToString("0.0", CultureInfo.InvariantCulture)} s)"
                      : $"counted {Time(census.Time)} at a footprint of {FrameLabels.Bytes(census.FootprintBytes)} ({census.Trigger}; paused {census.PauseMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms)")
                : "no census: " + managed.NoCensus);
            if (managed.HeapAtDeath is { } atDeath)
            {
                if (atDeath.Exception is { } thrown)
                    Row("  died of", $"{thrown.Type}{(thrown.Message is null ? "" : ": " + thrown.Message)} on thread {thrown.Thread}, thrown in {string.Join(" ← ", thrown.Frames.Take(6))}");
                foreach (var path in atDeath.RootPaths) Row("  held by", RootPath(path));
                if (atDeath.Problem is { } problem) Row("  heap dump", problem);
                if (atDeath.KeptPath is { } kept) Row("  dump kept", kept);
            }
        }
        if (head.DroppedEvents > 0) Row("dropped events", head.DroppedEvents.ToString(CultureInfo.InvariantCulture));
        if (head.RecordingStopped is { } stopped) Row("recording stopped", RecordingGap(stopped));
        Row("scene", head.Scene);
        Row("launched", Time(head.LaunchTime));
        Row("reported", Time(head.ReportTime));
        var colour = head.ExitReason is "foreground_oom" or "background_oom" or "suspended_oom" or "watchdog" ? "red" : "blue";
        return new Panel(grid).Header(new PanelHeader($" [bold]{Markup.Escape(Title(head))}[/] ")).BorderColor(Color.FromConsoleColor(colour == "red" ? ConsoleColor.Red : ConsoleColor.Blue));
    }

    /// <summary>"Order ← []  Order[] ← _items  List&lt;Order&gt; ← a local of Grow(Int64)": the object first, its holders outward to the root.</summary>
    internal static string RootPath(ReportRootPath path)
    {
        var parts = new List<string>();
        for (var i = path.Steps.Count - 1; i >= 0; i--)
            parts.Add(path.Steps[i].Via is { } via ? $"{path.Steps[i].Type} ← {via} of" : path.Steps[i].Type);
        var root = path.Root ?? path.RootKind.Replace('_', ' ');
        return $"{string.Join(" ", parts)} ← {(path.RootKind == "static" ? "static " : "")}{root}";
    }

    /// <summary>The run's processes as a tree (parents above children), when it had more than one: the reported process marked, each with its resident bytes and share of the group.</summary>
    private static Tree? Processes(Model.Report report)
    {
        if (report.ProcessTree is not { Processes.Count: > 1 } tree) return null;
        var program = tree.Processes[0];
        var known = tree.Processes.Select(p => p.Pid).ToHashSet();
        var total = tree.GroupUsageBytes ?? tree.Processes.Sum(p => p.RssBytes ?? 0);
        string Label(ReportProcess process)
        {
            var command = process.Command.Count == 0 ? "?" : string.Join(' ', process.Command.Take(4)) + (process.Command.Count > 4 ? " …" : "");
            var text = $"[bold]{process.Pid.ToString(CultureInfo.InvariantCulture)}[/] {Markup.Escape(command)}";
            if (process.RssBytes is long rss)
                text += Markup.Escape(total > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"  rss {FrameLabels.Bytes(rss)} ({100.0 * rss / total:0.#}%)")
                    : $"  rss {FrameLabels.Bytes(rss)}");
            if (process.LiveBytes is long live) text += Markup.Escape($"  live {FrameLabels.Bytes(live)}");
            if (process.ExitReason is { } reason) text += Markup.Escape($"  {reason}");
            if (process.NotRecorded is { } why) text += $"  [yellow]not recorded: {Markup.Escape(why)}[/]";
            if (process.Pid == tree.Pid) text += tree.Victim ? "  [red]◀ killed by the OOM killer: this report[/]" : "  [blue]◀ this report[/]";
            return text;
        }
        var heading = tree.GroupUsageBytes is long usage ? $"processes of the run (group usage {FrameLabels.Bytes(usage)} at the kill)" : "processes of the run";
        var root = new Tree(Markup.Escape(heading));
        void AddChildren(IHasTreeNodes node, int parent, HashSet<int> placed)
        {
            foreach (var child in tree.Processes.Skip(1).Where(p => (p.ParentPid == parent || parent == program.Pid && !known.Contains(p.ParentPid)) && placed.Add(p.Pid)))
                AddChildren(node.AddNode(Label(child)), child.Pid, placed);
        }
        var top = root.AddNode(Label(program));
        AddChildren(top, program.Pid, [program.Pid]);
        return root;
    }

    private static string Title(ReportHead head) => head.ExitReason switch
    {
        "foreground_oom" when head.ExitMechanism == "dotnet_out_of_memory" => "Died of memory (the .NET runtime's OutOfMemoryException)",
        "foreground_oom" => "Killed for memory (foreground OOM)",
        "background_oom" => "Killed for memory in the background",
        "suspended_oom" => "Killed for memory while suspended",
        "watchdog" => "Killed by the watchdog",
        null => "Memory report",
        var other => "Ended: " + other,
    };

    private static IRenderable? Footprint(Model.Report report, TextViewOptions options)
    {
        var samples = report.Head.FootprintSamples;
        if (samples is null || samples.Count == 0) return null;
        var start = samples[0][0];
        var end = samples[^1][0];
        var rows = Math.Min(options.ChartRows, samples.Count);
        var span = Math.Max(1, end - start);
        var buckets = new long[rows];
        var bucketTimes = new long[rows];
        foreach (var sample in samples)
        {
            if (sample.Length < 2) continue;
            var row = (int)Math.Min(rows - 1, (sample[0] - start) * rows / span);
            buckets[row] = Math.Max(buckets[row], sample[1]);
            bucketTimes[row] = start + span * row / rows;
        }
        var limit = report.Head.LimitBytes;
        var max = Math.Max(limit ?? 0, buckets.Max());
        var chart = new BarChart()
            .Width(72)
            .Label(limit is long l
                ? $"[bold]Footprint[/] (highest in each interval; the full width is the limit, {Markup.Escape(FrameLabels.Bytes(l))})"
                : "[bold]Footprint[/] (highest in each interval; no limit known)")
            .WithMaxValue(max / (double)CategoryMiB)
            .ShowValues(true);
        for (var row = 0; row < rows; row++)
        {
            if (buckets[row] == 0) continue;
            var share = limit is long lim && lim > 0 ? buckets[row] / (double)lim : 0;
            var colour = share >= 0.9 ? Color.Red : share >= 0.75 ? Color.Yellow : Color.Green;
            var at = (bucketTimes[row] - start) / 1000.0;
            chart.AddItem(string.Create(CultureInfo.InvariantCulture, $"+{at,7:0.0}s MiB"), Math.Round(buckets[row] / (double)CategoryMiB, 1), colour);
        }
        return chart;
    }

    private const long CategoryMiB = 1024 * 1024;

    private static Table Categories(Model.Report report, TextViewOptions options)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]Live memory by category[/]")
            .AddColumn(new TableColumn("#").RightAligned())
            .AddColumn("category")
            .AddColumn(new TableColumn("size").RightAligned())
            .AddColumn(new TableColumn("blocks").RightAligned())
            .AddColumn(new TableColumn("share").RightAligned())
            .AddColumn("");
        return CategoryTable(table, report.Items.Where(i => !i.IsManaged).ToList(), options);
    }

    /// <summary>The managed census's types, when the report has them: a table of their own, since they are counted apart from the native blocks.</summary>
    private static Table? ManagedCategories(Model.Report report, TextViewOptions options)
    {
        var items = report.Items.Where(i => i.IsManaged).ToList();
        if (items.Count == 0) return null;
        var estimated = items.Any(i => i.SizeMeasure == ReportItem.AllocatedEstimateMeasure);
        var title = estimated
            ? "[bold]Managed allocations by type[/] (no census: estimated from allocation samples, allocated not live)"
            : report.Head.Managed?.Census?.Trigger == "death" ? "[bold]Managed heap by type[/] (at the death, from the runtime's heap dump)" : "[bold]Managed heap by type[/] (the last census)";
        var table = new Table().Border(TableBorder.Rounded).Title(title)
            .AddColumn(new TableColumn("#").RightAligned())
            .AddColumn("type")
            .AddColumn(new TableColumn("size").RightAligned())
            .AddColumn(new TableColumn("objects").RightAligned())
            .AddColumn(new TableColumn("share").RightAligned())
            .AddColumn("");
        return CategoryTable(table, items, options);
    }

    private static Table CategoryTable(Table table, List<ReportItem> items, TextViewOptions options)
    {
        var total = Math.Max(1, items.Sum(i => i.Size));
        var biggest = Math.Max(1, items.Count == 0 ? 1 : items.Max(i => i.Size));
        var shown = items.Take(options.Categories).ToList();
        for (var i = 0; i < shown.Count; i++)
        {
            var item = shown[i];
            var bar = new string('█', (int)Math.Round(24.0 * item.Size / biggest));
            var name = Markup.Escape(item.Name) + (item.Folded is { Count: > 0 } folded ? $" [grey](+{folded.Count} folded)[/]" : "")
                + (item.SizeMeasure == ReportItem.AllocatedEstimateMeasure ? $" [grey](estimate {Markup.Escape(item.Info)})[/]"
                   : item.SizeMeasure == ReportItem.LiveEstimateMeasure ? $" [grey]({Markup.Escape(item.Info)})[/]"
                   : item.SizeMeasure is { } measure ? $" [grey]({Markup.Escape(measure)}{(item.ResidentBytes is { } resident ? $"; {Markup.Escape(FrameLabels.Bytes(resident))} resident" : "")})[/]"
                   : item.ResidentBytes is { } blocksResident ? $" [grey]({Markup.Escape(FrameLabels.Bytes(blocksResident))} resident)[/]" : "");
            table.AddRow(
                new Text((i + 1).ToString(CultureInfo.InvariantCulture)),
                new Markup(name),
                new Text(FrameLabels.Bytes(item.Size)),
                new Text(item.Count.ToString("N0", CultureInfo.InvariantCulture)),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{100.0 * item.Size / total:0.0}%")),
                new Markup($"[blue]{bar}[/]"));
        }
        var rest = items.Skip(options.Categories).ToList();
        if (rest.Count > 0)
            table.AddRow(new Text(""), new Markup($"[grey]{rest.Count} more categories[/]"),
                new Text(FrameLabels.Bytes(rest.Sum(i => i.Size))),
                new Text(rest.Sum(i => i.Count).ToString("N0", CultureInfo.InvariantCulture)),
                new Text(string.Create(CultureInfo.InvariantCulture, $"{100.0 * rest.Sum(i => i.Size) / total:0.0}%")),
                new Text(""));
        return table;
    }

    private static Tree? Stacks(Model.Report report, FrameLabels labels, TextViewOptions options)
    {
        // The biggest native categories' stacks, then the biggest managed types'.
        var withStacks = report.Items.Where(i => !i.IsManaged && i.Stacks.Count > 0).Take(options.StackCategories)
            .Concat(report.Items.Where(i => i.IsManaged && i.Stacks.Count > 0).Take(options.StackCategories)).ToList();
        if (withStacks.Count == 0) return null;
        var tree = new Tree("[bold]Top stacks[/] (innermost frame first; [green]>[/] marks the caller)");
        foreach (var item in withStacks)
        {
            var node = tree.AddNode(item.IsManaged
                ? $"[bold]{Markup.Escape(item.Name)}[/] (managed)  {Markup.Escape(FrameLabels.Bytes(item.Size))} in {item.Count.ToString("N0", CultureInfo.InvariantCulture)} objects; stacks from allocation samples, shares estimated"
                : $"[bold]{Markup.Escape(item.Name)}[/]  {Markup.Escape(FrameLabels.Bytes(item.Size))} in {item.Count.ToString("N0", CultureInfo.InvariantCulture)} blocks");
            foreach (var stack in item.Stacks.Take(options.StacksPerCategory))
            {
                var resident = stack.ResidentBytes is { } bytes ? $" [grey]({Markup.Escape(FrameLabels.Bytes(bytes))} resident)[/]" : "";
                var units = item.IsManaged ? $"objects ({stack.AllocationSamples ?? 0} allocation samples)" : "blocks";
                var estimate = stack.SizeBound is { } bound ? $" [grey](estimate ±{Markup.Escape(FrameLabels.Bytes(bound))}, ±{(stack.CountBound ?? 0).ToString("N0", CultureInfo.InvariantCulture)} blocks, {stack.Samples ?? 0} samples)[/]" : "";
                var stackNode = node.AddNode($"{Markup.Escape(FrameLabels.Bytes(stack.Size))} in {stack.Count.ToString("N0", CultureInfo.InvariantCulture)} {units}{resident}{estimate} from [green]{Markup.Escape(CallerLabel(stack, labels))}[/]");
                var callerIndex = FoldedStacks.CallerIndex(stack);
                for (var f = 0; f < stack.Frames.Count && f < options.FramesPerStack; f++)
                {
                    var mark = f == callerIndex ? "[green]>[/] " : "  ";
                    stackNode.AddNode(mark + Markup.Escape(labels.LabelWithSource(stack.Frames[f])));
                }
                var more = stack.Frames.Count - options.FramesPerStack + (stack.FramesCut ?? 0);
                if (more > 0) stackNode.AddNode($"[grey]... {more} more frames[/]");
            }
            if (item.Stacks.Count > options.StacksPerCategory)
                node.AddNode($"[grey]{item.Stacks.Count - options.StacksPerCategory} more stacks in the report[/]");
        }
        return tree;
    }

    private static string CallerLabel(ReportStack stack, FrameLabels labels)
    {
        var index = FoldedStacks.CallerIndex(stack);
        if (index >= 0) return labels.Label(stack.Frames[index]);
        return stack.Caller.Length > 0 ? stack.Caller : "(no frames)";
    }

    /// <summary>When and why recording stopped, and exactly what went unrecorded after it.</summary>
    public static string RecordingGap(ReportRecordingStopped stopped)
    {
        var why = stopped.Reason switch
        {
            "recorder_gone" => "the recorder was gone",
            "by_recorder" => "the recorder asked the hook to stop",
            "ring_invalid" => "the ring's header was inconsistent",
            var other => other,
        };
        var when = stopped.Time is long time ? " at " + Time(time) : "";
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{why}{when}; not recorded after it: {stopped.UnrecordedAllocations:N0} allocations ({FrameLabels.Bytes(stopped.UnrecordedAllocationBytes)}) " +
            $"and {stopped.UnrecordedFrees:N0} frees, so the live heap blocks are short by exactly {stopped.MissingHeapBlocks:N0}");
        if (stopped.UnrecordedMappings + stopped.UnrecordedUnmappings > 0)
            text += string.Create(CultureInfo.InvariantCulture,
                $"; {stopped.UnrecordedMappings:N0} mappings ({FrameLabels.Bytes(stopped.UnrecordedMappingBytes)}) and {stopped.UnrecordedUnmappings:N0} unmappings ({FrameLabels.Bytes(stopped.UnrecordedUnmappingBytes)})");
        return text;
    }

    /// <summary>What a reader must know not to take a part for the whole.</summary>
    public static IEnumerable<string> Notes(Model.Report report)
    {
        var head = report.Head;
        if (head.NotRecorded is { } notRecorded) yield return notRecorded + ".";
        foreach (var figures in head.FigureNotes ?? []) yield return figures + ".";
        if (head.LiveSnapshot) yield return "the session was still being recorded: this is a snapshot, not the end of the run.";
        if (head.Recovery is { Count: > 0 } recovery)
            yield return "the session's storage needed recovery (" + string.Join("; ", recovery) + ").";
        if (head.DroppedEvents > 0)
            yield return $"{head.DroppedEvents} events were dropped while recording: live totals may be off by as many blocks.";
        if (head.RecordingStopped is { } stopped)
            yield return "recording stopped before the program ended: " + RecordingGap(stopped) + ".";
        foreach (var python in head.PythonFrames ?? [])
            if (python.State != Building.PythonFrameNotes.Recorded) yield return $"pid {python.Pid}: {python.Detail}.";
        if (head.Trimmed is { } trimmed)
        {
            if (trimmed.BudgetStacks > 0)
                yield return $"{trimmed.BudgetStacks} stacks ({FrameLabels.Bytes(trimmed.BudgetBytes)}) were left out to fit the report into {FrameLabels.Bytes(trimmed.BudgetGzipBytes)} gzip'ed; every category's totals are complete.";
            if (trimmed.OverBudget)
                yield return $"the categories alone exceed the {FrameLabels.Bytes(trimmed.BudgetGzipBytes)} budget; no stack could be kept.";
            if (trimmed.DeepStacks > 0)
                yield return $"{trimmed.DeepStacks} stacks were deeper than the frame limit ({trimmed.DeepFrames} outer frames cut).";
        }
        if (head.Symbols is { UnnamedFrames: > 0 } symbols)
        {
            var modules = string.Join("; ", symbols.UnnamedByModule.Take(5).Select(m => $"{m.Name}: {m.UnnamedFrames} ({m.Reason})"));
            var more = symbols.UnnamedByModule.Count > 5 ? $"; {symbols.UnnamedByModule.Count - 5} more modules" : "";
            yield return $"{symbols.UnnamedFrames} of {symbols.Frames} frames have no name and read module+0xOFFSET, since no symbol contains them: {modules}{more}. To name them: {symbols.HowToName}.";
        }
        if (head.Managed is { } managed)
        {
            if (managed.Census is { LostEvents: > 0 } lossy)
                yield return $"the managed census lost {lossy.LostEvents} heap-walk events: some objects are missing from its counts.";
            if (managed.AllocationSamplingProblem is { } sampling) yield return "managed allocation stacks: " + sampling;
        }
    }

    // Matrix writes seconds where Foom writes milliseconds; no report is from before 1973.
    private static string? Time(long? value) =>
        value is long time && time > 0
            ? DateTimeOffset.FromUnixTimeMilliseconds(time < 100_000_000_000 ? time * 1000 : time).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)
            : null;
}
