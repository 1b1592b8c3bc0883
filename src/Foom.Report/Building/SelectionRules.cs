namespace Foom.Report.Building;

/// <summary>
/// Which stacks a report lists, after the English seed and Matrix's report generator
/// (docs/report-format.md, "Selection"). Every category is listed with its totals whatever
/// these say; only stacks are chosen.
/// </summary>
public sealed record SelectionRules
{
    public static SelectionRules Default { get; } = new();

    /// <summary>Categories ranked below this (by size, 0 = biggest) are "top" categories.</summary>
    public int TopCategoryRanks { get; init; } = 15;
    /// <summary>A category at least this big is a top category whatever its rank.</summary>
    public long TopCategoryBytes { get; init; } = CategoryNames.MiB;
    /// <summary>A top category lists its stacks ranked below this by size...</summary>
    public int TopStacksBySize { get; init; } = 10;
    /// <summary>...and any stack of at least this many bytes.</summary>
    public long BigStackBytes { get; init; } = 128 * CategoryNames.KiB;

    /// <summary>A category whose name contains one of these (case-sensitive, as Matrix) is UI-like.</summary>
    public IReadOnlyList<string> UiLikeNameParts { get; init; } = ["View", "Image", "Layer", "Bitmap", "Widget", "Window"];
    /// <summary>A category with at least this many live blocks is very numerous.</summary>
    public long NumerousCategoryCount { get; init; } = 1000;
    /// <summary>A UI-like or very numerous category lists its stacks ranked below this by count...</summary>
    public int TopStacksByCount { get; init; } = 5;
    /// <summary>...and any stack holding at least this many blocks.</summary>
    public long NumerousStackCount { get; init; } = 50;

    /// <summary>Frames kept per stack, innermost first.</summary>
    public int MaxFrames { get; init; } = 64;

    public bool IsTopCategory(int rank, long size) => rank < TopCategoryRanks || size >= TopCategoryBytes;

    public bool IsUiLikeOrNumerous(string name, long count) =>
        count >= NumerousCategoryCount || UiLikeNameParts.Any(part => name.Contains(part, StringComparison.Ordinal));

    /// <summary>Whether a category at this rank lists any stack at all.</summary>
    public bool ListsStacks(int rank, string name, long size, long count) =>
        IsTopCategory(rank, size) || IsUiLikeOrNumerous(name, count);

    /// <summary>
    /// The stacks a category lists, in its stack order (size, largest first). <paramref name="bySize"/>
    /// must be sorted by size, largest first.
    /// </summary>
    public List<T> Select<T>(int rank, string name, long size, long count, IReadOnlyList<T> bySize, Func<T, CellTotals> totals)
    {
        var chosen = new List<T>();
        if (IsTopCategory(rank, size))
        {
            for (var i = 0; i < bySize.Count; i++)
                if (i < TopStacksBySize || totals(bySize[i]).Size >= BigStackBytes) chosen.Add(bySize[i]);
            return chosen;
        }
        if (!IsUiLikeOrNumerous(name, count)) return chosen;
        var topByCount = bySize
            .Select((stack, index) => (stack, index))
            .OrderByDescending(s => totals(s.stack).Count).ThenBy(s => s.index)
            .Take(TopStacksByCount)
            .Select(s => s.index)
            .ToHashSet();
        for (var i = 0; i < bySize.Count; i++)
            if (topByCount.Contains(i) || totals(bySize[i]).Count >= NumerousStackCount) chosen.Add(bySize[i]);
        return chosen;
    }
}
