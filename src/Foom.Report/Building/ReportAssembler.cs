using Foom.Report.Callers;
using Foom.Report.Model;

namespace Foom.Report.Building;

/// <summary>
/// Turns the summed live heap into the report's categories, stacks and modules: names the
/// categories, folds single-stack ones where that helps, sorts, selects stacks, resolves their
/// frames and callers, and fits the whole into the size budget. The head's run facts (exit
/// reason, footprint, ...) are the builder's, given as <paramref name="head"/> so that the budget
/// measures the whole report; this fills live_bytes, live_count and trimmed.
/// </summary>
public static class ReportAssembler
{
    /// <remarks>
    /// A .NET target's <paramref name="managed"/> heap adds its census's types after the native
    /// categories (<see cref="ManagedCategories"/>) and head.managed; they are not part of
    /// live_bytes and live_count, which stay the sums of the native items.
    /// </remarks>
    public static Model.Report Assemble(LiveHeap heap, HeapContext context, ReportOptions options, ReportHead? head = null, ManagedHeap? managed = null)
    {
        var categories = Group(heap, context);
        SortBySize(categories);
        if (options.FoldSingleStackCategories && CategoryFolding.Fold(categories, options.Selection) > 0)
            SortBySize(categories);

        var report = new Model.Report { Head = head ?? new ReportHead() };
        report.Head.LiveBytes = heap.LiveBytes;
        report.Head.LiveCount = heap.LiveCount;
        report.Head.Sampling = SampledEstimates.Head(heap);

        var modulesById = new Dictionary<int, ModuleRecord>();
        foreach (var module in context.Modules) modulesById.TryAdd(module.Id, module);
        var shapes = new StackShapes(context, modulesById, options.Selection.MaxFrames);
        var listed = new List<ListedStack>();
        long cells = 0;

        for (var rank = 0; rank < categories.Count; rank++)
        {
            var category = categories[rank];
            cells += category.Stacks.Count;
            var item = new ReportItem
            {
                Name = category.Name,
                Size = category.Size,
                Count = category.Count,
                DistinctStacks = category.Stacks.Count,
                Folded = category.Folded,
                SizeMeasure = category.Kind == BlockKind.Mapping ? "reserved" : null,
                ResidentBytes = category.ResidentBytes,
                Scene = report.Head.Scene,
            };
            SampledEstimates.Describe(item, category.Totals);
            report.Items.Add(item);
            if (!options.Selection.ListsStacks(rank, category.Name, category.Size, category.Count)) continue;

            var bySize = category.Stacks
                .Select(pair => (StackId: pair.Key, Totals: pair.Value))
                .OrderByDescending(s => s.Totals.Size).ThenByDescending(s => s.Totals.Count).ThenBy(s => s.StackId)
                .ToList();
            var chosen = options.Selection.Select(rank, category.Name, category.Size, category.Count, bySize, s => s.Totals);
            for (var i = 0; i < chosen.Count; i++)
            {
                var shape = shapes.Get(chosen[i].StackId);
                var stack = new ReportStack
                {
                    Size = chosen[i].Totals.Size,
                    Count = chosen[i].Totals.Count,
                    Frames = shape.Frames,
                    FramesCut = shape.FramesCut > 0 ? shape.FramesCut : null,
                    ResidentBytes = category.StackResident?.GetValueOrDefault(chosen[i].StackId),
                };
                SampledEstimates.Describe(stack, chosen[i].Totals);
                item.Stacks.Add(stack);
                listed.Add(new ListedStack(item, stack, shape, FirstOfCategory: i == 0));
            }
        }

        if (managed is not null)
        {
            cells += ManagedCategories.Add(report, managed, options, shapes, listed, out var listedTypes);
            report.Head.Managed = managed.Head(listedTypes);
        }

        // Every stack's frames are named with the listed ones: the caller view counts them all.
        var callerView = CallerView.Collect(heap, shapes, key => CategoryName(heap, context, key));
        report.Head.Symbols = shapes.Symbolize(options.Symbolize);
        var findCaller = options.FindCaller ?? CallerRules.Default.FindCaller;
        var moduleNames = shapes.ModuleNameOfUuid;
        report.Callers = callerView.Build(findCaller, moduleNames);
        foreach (var entry in listed)
        {
            var shape = entry.Shape;
            if (shape.CallerIndex is null)
            {
                shape.CallerIndex = shape.Frames.Count == 0 ? -1 : findCaller(shape.Frames, moduleNames);
            }
            if (shape.CallerIndex is int index && index >= 0 && index < shape.Frames.Count)
            {
                var frame = shape.Frames[index];
                entry.Stack.Caller = $"{frame.Uuid}@{frame.Offset}";
                entry.Stack.CallerFunction = frame.Function;
            }
        }

        ReportBudget.Fit(report, listed, cells, shapes.ModulesByUuid, context.Modules.FirstOrDefault(m => m.IsMain), options.BudgetGzipBytes);
        return report;
    }

    private static List<CategoryBuild> Group(LiveHeap heap, HeapContext context)
    {
        var byName = new Dictionary<string, CategoryBuild>(StringComparer.Ordinal);
        var names = new Dictionary<CategoryKey, string>();
        foreach (var (key, stackId, totals) in heap.Cells())
        {
            if (!names.TryGetValue(key, out var name))
            {
                name = CategoryName(heap, context, key);
                names[key] = name;
            }
            if (!byName.TryGetValue(name, out var category))
                byName[name] = category = new CategoryBuild(name, key.Kind);
            category.Add(stackId, totals);
            if (heap.ResidentOf(key, stackId) is { } resident) category.AddResident(stackId, resident);
        }
        return byName.Values.ToList();
    }

    private static string CategoryName(LiveHeap heap, HeapContext context, CategoryKey key) => key.Kind switch
    {
        BlockKind.Malloc => heap.MallocName(key.Id),
        BlockKind.Mapping => CategoryNames.Mapping(context.CategoryName(key)),
        _ => context.CategoryName(key) is { Length: > 0 } type ? type : $"Unnamed category {key.Id}",
    };

    private static void SortBySize(List<CategoryBuild> categories) =>
        categories.Sort((a, b) =>
        {
            var bySize = b.Size.CompareTo(a.Size);
            if (bySize != 0) return bySize;
            var byCount = b.Count.CompareTo(a.Count);
            return byCount != 0 ? byCount : string.CompareOrdinal(a.Name, b.Name);
        });
}

/// <summary>A category while the report is assembled.</summary>
internal sealed class CategoryBuild(string name, BlockKind kind)
{
    public string Name { get; } = name;
    public BlockKind Kind { get; } = kind;
    public long Size { get; set; }
    public long Count { get; set; }
    /// <summary>Size and count with the variances of a sampled run's estimates.</summary>
    public CellTotals Totals { get; private set; }
    public Dictionary<uint, CellTotals> Stacks { get; } = new();
    public List<FoldedCategory>? Folded { get; set; }
    /// <summary>Resident bytes of a mapping category and of each of its stacks, when a smaps sample is known.</summary>
    public long? ResidentBytes { get; private set; }
    public Dictionary<uint, long>? StackResident { get; private set; }

    public void AddResident(uint stackId, long bytes)
    {
        StackResident ??= new Dictionary<uint, long>();
        StackResident[stackId] = StackResident.GetValueOrDefault(stackId) + bytes;
        ResidentBytes = (ResidentBytes ?? 0) + bytes;
    }

    public void Add(uint stackId, CellTotals totals)
    {
        Stacks[stackId] = Stacks.TryGetValue(stackId, out var sum)
            ? sum + totals
            : totals;
        Size += totals.Size;
        Count += totals.Count;
        Totals += totals;
    }
}

/// <summary>A listed stack with its place in the report, for callers and the budget.</summary>
internal sealed record ListedStack(ReportItem Item, ReportStack Stack, StackShape Shape, bool FirstOfCategory);

/// <summary>A stack id's frames as the report writes them, shared by every category that lists it.</summary>
internal sealed class StackShape(List<ReportFrame> frames, int framesCut)
{
    public List<ReportFrame> Frames { get; } = frames;
    public int FramesCut { get; } = framesCut;
    public int? CallerIndex { get; set; }
}

/// <summary>
/// Resolves stack ids to report frames once each, and each distinct (module, offset) to one
/// shared frame object, so that a frame is symbolicated once however many stacks hold it.
/// </summary>
internal sealed class StackShapes(HeapContext context, Dictionary<int, ModuleRecord> modulesById, int maxFrames)
{
    private readonly Dictionary<uint, StackShape> _shapes = new();
    private readonly Dictionary<RawFrame, ReportFrame> _frames = new();
    private readonly HashSet<RawFrame> _returnAddresses = [];

    public Dictionary<string, ModuleRecord> ModulesByUuid { get; } = new(StringComparer.Ordinal);

    public StackShape Get(uint stackId)
    {
        if (_shapes.TryGetValue(stackId, out var shape)) return shape;
        var raw = context.Frames(stackId);
        var kept = Math.Min(raw.Count, maxFrames);
        var frames = new List<ReportFrame>(kept);
        for (var i = 0; i < kept; i++)
        {
            frames.Add(Frame(raw[i]));
            if (i > 0) _returnAddresses.Add(raw[i]);
        }
        shape = new StackShape(frames, raw.Count - kept);
        _shapes[stackId] = shape;
        return shape;
    }

    /// <summary>Names the frames; returns how many stayed unnamed and why (null when no symbolizer ran).</summary>
    public ReportSymbols? Symbolize(FrameSymbolizer? symbolizer)
    {
        if (symbolizer is null || _frames.Count == 0) return null;
        var reasons = symbolizer(context.Modules, _frames.Select(pair => new FrameToName(pair.Key, pair.Value, _returnAddresses.Contains(pair.Key))).ToList());
        return SymbolSummary.Of(_frames, modulesById, reasons);
    }

    public string? ModuleNameOfUuid(string uuid) =>
        ModulesByUuid.TryGetValue(uuid, out var module) ? System.IO.Path.GetFileName(module.Path) : null;

    private ReportFrame Frame(RawFrame raw)
    {
        if (_frames.TryGetValue(raw, out var frame)) return frame;
        var uuid = "";
        if (raw.ModuleId >= 0 && modulesById.TryGetValue(raw.ModuleId, out var module))
        {
            uuid = module.Uuid;
            ModulesByUuid.TryAdd(uuid, module);
        }
        frame = new ReportFrame { Uuid = uuid, Offset = raw.Offset };
        _frames[raw] = frame;
        return frame;
    }
}
