using Foom.Report.Callers;
using Foom.Report.Model;

namespace Foom.Report.Building;

/// <summary>
/// Builds the caller view (<see cref="ReportCallers"/>): every live native cell of the session,
/// summed by its stack's caller (the caller rules skip allocator and runtime frames), so one
/// function's blocks in many size classes are one line. Collected in two steps around
/// symbolization: <see cref="Collect"/> takes every stack's frames so they get named with the
/// listed ones; <see cref="Build"/> then finds each stack's caller by name.
/// </summary>
internal sealed class CallerView
{
    public const string Rule =
        "bottom-up: each stack's live blocks counted at its caller, the first frame that the caller rules do not skip as allocator or runtime code; " +
        "summed over every category and stack of the session, listed or not";

    private const int TopCallers = 20;
    private const int TopCalledFrom = 5;

    private readonly Dictionary<uint, StackCells> _stacks = new();
    private readonly Dictionary<CategoryKey, string> _categoryNames;
    private long _totalBytes, _totalCount;

    private CallerView(Dictionary<CategoryKey, string> categoryNames) => _categoryNames = categoryNames;

    /// <summary>The stacks of every native cell, their shapes taken from <paramref name="shapes"/> so that symbolization names their frames.</summary>
    public static CallerView Collect(LiveHeap heap, StackShapes shapes, Func<CategoryKey, string> categoryName)
    {
        var view = new CallerView(new Dictionary<CategoryKey, string>());
        foreach (var (key, stackId, totals) in heap.Cells())
        {
            if (!view._stacks.TryGetValue(stackId, out var cells))
            {
                view._stacks[stackId] = cells = new StackCells(shapes.Get(stackId));
            }
            cells.Add(key, totals);
            if (!view._categoryNames.ContainsKey(key)) view._categoryNames[key] = categoryName(key);
            view._totalBytes += totals.Size;
            view._totalCount += totals.Count;
        }
        return view;
    }

    public ReportCallers Build(CallerFinder findCaller, Func<string, string?> moduleNames)
    {
        var callers = new Dictionary<string, Sum>(StringComparer.Ordinal);
        foreach (var cells in _stacks.Values.OrderByDescending(c => c.Size))
        {
            var shape = cells.Shape;
            shape.CallerIndex ??= shape.Frames.Count == 0 ? -1 : findCaller(shape.Frames, moduleNames);
            var index = shape.CallerIndex.Value;
            var frame = index >= 0 && index < shape.Frames.Count ? shape.Frames[index] : null;
            var sum = Get(callers, frame, moduleNames);
            sum.Add(cells, frame?.Line);
            var outer = frame != null && index + 1 < shape.Frames.Count ? shape.Frames[index + 1] : null;
            Get(sum.CalledFrom ??= new Dictionary<string, Sum>(StringComparer.Ordinal), outer, moduleNames).Add(cells, outer?.Line);
        }
        var ordered = callers.Values.OrderByDescending(c => c.Size).ThenByDescending(c => c.Count).ThenBy(c => c.Caller.Caller, StringComparer.Ordinal).ToList();
        var listed = ordered.Take(TopCallers).ToList();
        return new ReportCallers
        {
            Rule = Rule,
            TotalBytes = _totalBytes,
            TotalCount = _totalCount,
            Callers = ordered.Count,
            UnlistedBytes = ordered.Skip(TopCallers).Sum(c => c.Size),
            UnlistedCount = ordered.Skip(TopCallers).Sum(c => c.Count),
            BottomUp = listed.Select(c => c.ToReport(_categoryNames, c.CalledFrom?.Values.OrderByDescending(o => o.Size).ThenBy(o => o.Caller.Caller, StringComparer.Ordinal)
                .Take(TopCalledFrom).Select(o => o.ToReport(_categoryNames, null)).ToList())).ToList(),
        };
    }

    private static Sum Get(Dictionary<string, Sum> sums, ReportFrame? frame, Func<string, string?> moduleNames)
    {
        var module = frame is null ? null : moduleNames(frame.Uuid);
        // A function of interpreted code (a Python frame) has no module: its file tells two
        // functions of one name apart.
        var key = frame is null ? "" : !string.IsNullOrEmpty(frame.Function)
            ? module is null && frame.File is { } file ? $"{file}!{frame.Function}" : $"{module}!{frame.Function}"
            : CallerRules.FormatCaller(frame);
        if (!sums.TryGetValue(key, out var sum))
        {
            sums[key] = sum = new Sum(new ReportCaller
            {
                Function = frame is null ? "(no caller: every frame is allocator or runtime code, or the stack is empty)" : frame.Function,
                Caller = frame is null ? "" : CallerRules.FormatCaller(frame),
                Module = module,
                File = frame?.File,
            });
        }
        return sum;
    }

    /// <summary>One stack's live cells, by category.</summary>
    private sealed class StackCells(StackShape shape)
    {
        public StackShape Shape { get; } = shape;
        public Dictionary<CategoryKey, CellTotals> Cells { get; } = new();
        public long Size { get; private set; }
        public long Count { get; private set; }
        public CellTotals Totals { get; private set; }

        public void Add(CategoryKey key, CellTotals totals)
        {
            Cells[key] = Cells.TryGetValue(key, out var sum) ? sum + totals : totals;
            Size += totals.Size;
            Count += totals.Count;
            Totals += totals;
        }
    }

    /// <summary>A caller's totals while they are summed.</summary>
    private sealed class Sum(ReportCaller caller)
    {
        public ReportCaller Caller { get; } = caller;
        public long Size { get; private set; }
        public long Count { get; private set; }
        public Dictionary<string, Sum>? CalledFrom { get; set; }
        private readonly Dictionary<CategoryKey, long> _byCategory = new();
        private readonly Dictionary<int, long> _byLine = new();
        private int _stacks;
        private CellTotals _totals;

        public void Add(StackCells cells, int? line)
        {
            if (line is { } known) _byLine[known] = _byLine.GetValueOrDefault(known) + cells.Size;
            Size += cells.Size;
            Count += cells.Count;
            _totals += cells.Totals;
            _stacks++;
            foreach (var (key, totals) in cells.Cells) _byCategory[key] = _byCategory.GetValueOrDefault(key) + totals.Size;
        }

        public ReportCaller ToReport(IReadOnlyDictionary<CategoryKey, string> names, List<ReportCaller>? calledFrom)
        {
            Caller.Size = Size;
            Caller.Count = Count;
            Caller.Stacks = _stacks;
            Caller.Categories = _byCategory.Count;
            Caller.TopCategory = _byCategory.Count == 0 ? null : names[_byCategory.MaxBy(p => p.Value).Key];
            Caller.Line = _byLine.Count == 0 ? null : _byLine.OrderByDescending(p => p.Value).ThenBy(p => p.Key).First().Key;
            Caller.CalledFrom = calledFrom;
            SampledEstimates.Describe(Caller, _totals);
            return Caller;
        }
    }
}
