using System.Text.Json.Serialization;
using Foom.Report.Views;

namespace Foom.Report.Diff;

/// <summary>
/// What grew and what shrank between two reports (two runs, or two moments of one), per
/// category and per stack. Stacks are matched across reports by their frames as the views name
/// them (function when symbolicated, else module+offset) and their category, since stack ids
/// belong to one session. A stack listed in one report only counts as zero in the other; its
/// bytes there are in that category's "[stacks not listed]" path, so every category's change
/// is exact and the stack changes add up to it.
/// </summary>
public sealed class ReportDiff
{
    [JsonPropertyName("before")] public DiffSide Before { get; set; } = new();
    [JsonPropertyName("after")] public DiffSide After { get; set; } = new();
    /// <summary>Every category of either report, biggest growth first, biggest shrink last.</summary>
    [JsonPropertyName("categories")] public List<Change> Categories { get; set; } = [];
    /// <summary>Every stack path of either report, biggest growth first, biggest shrink last.</summary>
    [JsonPropertyName("stacks")] public List<StackChange> Stacks { get; set; } = [];

    public static ReportDiff Compare(Model.Report before, Model.Report after)
    {
        var diff = new ReportDiff { Before = DiffSide.Of(before), After = DiffSide.Of(after) };

        var categories = new Dictionary<string, Change>(StringComparer.Ordinal);
        foreach (var item in before.Items) Category(categories, item.Name).Add(item.Size, item.Count, after: false);
        foreach (var item in after.Items) Category(categories, item.Name).Add(item.Size, item.Count, after: true);
        diff.Categories = Order(categories.Values).ToList();

        var stacks = new Dictionary<string, StackChange>(StringComparer.Ordinal);
        foreach (var path in FoldedStacks.Of(before)) Stack(stacks, path).Add(path.Bytes, path.Count, after: false);
        foreach (var path in FoldedStacks.Of(after)) Stack(stacks, path).Add(path.Bytes, path.Count, after: true);
        diff.Stacks = Order(stacks.Values).ToList();
        return diff;
    }

    private static Change Category(Dictionary<string, Change> changes, string name)
    {
        if (!changes.TryGetValue(name, out var change)) changes[name] = change = new Change { Name = name };
        return change;
    }

    private static StackChange Stack(Dictionary<string, StackChange> changes, FoldedStacks.CallPath path)
    {
        var key = string.Join('\n', path.Frames);
        if (!changes.TryGetValue(key, out var change))
            changes[key] = change = new StackChange { Name = path.Category, Caller = path.Caller, Frames = [.. path.Frames] };
        change.Caller ??= path.Caller;
        return change;
    }

    private static IEnumerable<T> Order<T>(IEnumerable<T> changes) where T : Change =>
        changes.OrderByDescending(c => c.SizeChange).ThenByDescending(c => c.CountChange).ThenBy(c => c.Name, StringComparer.Ordinal);
}

public sealed class DiffSide
{
    [JsonPropertyName("report_id")] public string? ReportId { get; set; }
    [JsonPropertyName("app_version")] public string? AppVersion { get; set; }
    [JsonPropertyName("exit_reason")] public string? ExitReason { get; set; }
    [JsonPropertyName("live_bytes")] public long LiveBytes { get; set; }
    [JsonPropertyName("live_count")] public long LiveCount { get; set; }
    [JsonPropertyName("peak_footprint_bytes")] public long? PeakFootprintBytes { get; set; }

    public static DiffSide Of(Model.Report report) => new()
    {
        ReportId = report.Head.ReportId,
        AppVersion = report.Head.AppVersion,
        ExitReason = report.Head.ExitReason,
        LiveBytes = report.Items.Where(i => !i.IsManaged).Sum(i => i.Size),
        LiveCount = report.Items.Where(i => !i.IsManaged).Sum(i => i.Count),
        PeakFootprintBytes = report.Head.PeakFootprintBytes,
    };
}

/// <summary>One category's (or stack's) totals in both reports.</summary>
public class Change
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("before_size")] public long BeforeSize { get; set; }
    [JsonPropertyName("after_size")] public long AfterSize { get; set; }
    [JsonPropertyName("before_count")] public long BeforeCount { get; set; }
    [JsonPropertyName("after_count")] public long AfterCount { get; set; }
    [JsonPropertyName("size_change")] public long SizeChange => AfterSize - BeforeSize;
    [JsonPropertyName("count_change")] public long CountChange => AfterCount - BeforeCount;

    internal void Add(long size, long count, bool after)
    {
        if (after) { AfterSize += size; AfterCount += count; }
        else { BeforeSize += size; BeforeCount += count; }
    }
}

/// <summary>A stack path's totals in both reports; <see cref="Change.Name"/> is its category.</summary>
public sealed class StackChange : Change
{
    /// <summary>Outermost first, the category (in brackets) last, as in the collapsed view.</summary>
    [JsonPropertyName("frames")] public List<string> Frames { get; set; } = [];
    [JsonPropertyName("caller")] public string? Caller { get; set; }
}
