using Foom.Report.Model;

namespace Foom.Report.Building;

/// <summary>
/// Matrix merges every category that has exactly one stack into another category holding that
/// stack. Foom does it only where it helps the reader (docs/report-format.md, "Folding"):
/// a heap-block category ("Malloc N") whose blocks all come from one stack, and which would list
/// no stack of its own, is folded into the biggest heap-block category that keeps its identity
/// and holds the same stack. The reader then sees that stack's bytes under a listed stack
/// instead of in a size class without any; the folded category's name and totals stay on the
/// target's `folded` list. Type names and mapping kinds are never folded: they mean something
/// of their own; nor is a category that lists its own stacks.
/// </summary>
internal static class CategoryFolding
{
    /// <summary>Folds in place; <paramref name="bySize"/> must be sorted by size, largest first. Returns how many were folded.</summary>
    public static int Fold(List<CategoryBuild> bySize, SelectionRules rules)
    {
        var candidates = new HashSet<CategoryBuild>();
        for (var rank = 0; rank < bySize.Count; rank++)
        {
            var category = bySize[rank];
            if (category.Kind == BlockKind.Malloc && category.Stacks.Count == 1
                && !rules.ListsStacks(rank, category.Name, category.Size, category.Count))
                candidates.Add(category);
        }
        if (candidates.Count == 0) return 0;

        var wanted = candidates.Select(c => c.Stacks.Keys.First()).ToHashSet();
        var biggestTargetOf = new Dictionary<uint, CategoryBuild>();
        foreach (var category in bySize)
        {
            if (category.Kind != BlockKind.Malloc || candidates.Contains(category)) continue;
            foreach (var stackId in category.Stacks.Keys)
                if (wanted.Contains(stackId)) biggestTargetOf.TryAdd(stackId, category);
        }

        var folded = new HashSet<CategoryBuild>();
        foreach (var candidate in bySize)
        {
            if (!candidates.Contains(candidate)) continue;
            var (stackId, totals) = candidate.Stacks.First();
            if (!biggestTargetOf.TryGetValue(stackId, out var target)) continue;
            target.Add(stackId, totals);
            (target.Folded ??= []).Add(new FoldedCategory { Name = candidate.Name, Size = candidate.Size, Count = candidate.Count });
            folded.Add(candidate);
        }
        bySize.RemoveAll(folded.Contains);
        foreach (var category in bySize)
            category.Folded?.Sort((a, b) => b.Size != a.Size ? b.Size.CompareTo(a.Size) : string.CompareOrdinal(a.Name, b.Name));
        return folded.Count;
    }
}
