using System.Globalization;
using Foom.Report.Model;
using Foom.Storage.Managed;

namespace Foom.Report.Building;

/// <summary>
/// The managed categories of a .NET target's report (docs/report-format.md, "Managed heap"): one
/// item per type of the last census, named by the type, marked heap "managed", after the native
/// items; the census's biggest and most numerous types by name and the rest as one item, so the
/// managed items add up to the census. A type's stacks come from the sampled allocations of that
/// type: each stack gets the type's live size and count in proportion to the bytes sampled there
/// (an estimate: the census counts objects, the samples say where objects of that type were
/// allocated), chosen by the same selection rules as native stacks, ranked among the managed
/// categories.
/// </summary>
internal static class ManagedCategories
{
    public const string OtherTypesName = "Managed: other types";

    /// <summary>Adds the census's items and their listed stacks; returns the (type, stack) pairs there were, listed or not.</summary>
    public static long Add(Model.Report report, ManagedHeap managed, ReportOptions options, StackShapes shapes, List<ListedStack> listed, out int listedTypes)
    {
        listedTypes = 0;
        Dictionary<string, long>? samplesByType = null;
        List<ManagedTypeTotal> typeTotals;
        if (managed.Census is { } census) typeTotals = census.Types;
        else if (managed.Allocations is { Samples: > 0 } sampledOnly) typeTotals = SampledTypes(sampledOnly, out samplesByType);
        else return 0;
        var types = typeTotals.OrderByDescending(t => t.Bytes).ThenByDescending(t => t.Count).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        var named = types.Take(options.ManagedTypesBySize)
            .Concat(types.OrderByDescending(t => t.Count).ThenBy(t => t.Name, StringComparer.Ordinal).Take(options.ManagedTypesByCount))
            .ToHashSet();
        var items = new List<ReportItem>();
        long otherBytes = 0, otherCount = 0;
        var otherTypes = 0;
        foreach (var type in types)
        {
            if (named.Contains(type))
            {
                var item = new ReportItem { Name = type.Name, Size = type.Bytes, Count = type.Count, Heap = ReportItem.ManagedHeapName, Scene = report.Head.Scene };
                if (samplesByType is not null)
                {
                    var samples = samplesByType[type.Name];
                    item.SizeMeasure = ReportItem.AllocatedEstimateMeasure;
                    item.Info = string.Create(CultureInfo.InvariantCulture,
                        $"±{RelativeBound(samples) * 100:0} % (95 %) from {samples} allocation samples; allocated since sampling began, live or not");
                }
                items.Add(item);
                continue;
            }
            otherBytes += type.Bytes;
            otherCount += type.Count;
            otherTypes++;
        }
        listedTypes = items.Count;
        if (otherTypes > 0)
        {
            items.Add(new ReportItem
            {
                Name = OtherTypesName, Size = otherBytes, Count = otherCount, Heap = ReportItem.ManagedHeapName, Scene = report.Head.Scene,
                Info = $"{otherTypes} types", SizeMeasure = samplesByType is null ? null : ReportItem.AllocatedEstimateMeasure,
            });
        }
        items.Sort((a, b) => b.Size != a.Size ? b.Size.CompareTo(a.Size) : b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.Name, b.Name));
        report.Items.AddRange(items);

        if (managed.Allocations is not { } allocations) return 0;
        var stacksByType = MergedStacks(allocations);
        var frames = new ReportFrame?[allocations.Frames.Count];
        long cells = 0;
        for (var rank = 0; rank < items.Count; rank++)
        {
            var item = items[rank];
            if (item.Name == OtherTypesName || !stacksByType.TryGetValue(item.Name, out var sampled)) continue;
            var sampledBytes = Math.Max(1, sampled.Sum(s => s.Bytes));
            var candidates = sampled
                .Where(s => s.Frames.Count > 0)
                .Select(s => (Stack: s, Totals: new CellTotals((long)(item.Size * (double)s.Bytes / sampledBytes), (long)Math.Round(item.Count * (double)s.Bytes / sampledBytes))))
                .OrderByDescending(c => c.Totals.Size).ThenByDescending(c => c.Stack.Samples)
                .ToList();
            item.DistinctStacks = candidates.Count;
            cells += candidates.Count;
            var chosen = options.Selection.Select(rank, item.Name, item.Size, item.Count, candidates, c => c.Totals);
            for (var i = 0; i < chosen.Count; i++)
            {
                var (stack, totals) = chosen[i];
                var kept = Math.Min(stack.Frames.Count, options.Selection.MaxFrames);
                var reportFrames = new List<ReportFrame>(kept);
                for (var f = 0; f < kept; f++) reportFrames.Add(frames[stack.Frames[f]] ??= Frame(allocations.Frames[stack.Frames[f]], shapes));
                var shape = new StackShape(reportFrames, stack.Frames.Count - kept);
                var reportStack = new ReportStack
                {
                    Size = totals.Size,
                    Count = totals.Count,
                    Frames = reportFrames,
                    FramesCut = shape.FramesCut > 0 ? shape.FramesCut : null,
                    AllocationSamples = stack.Samples,
                    AllocatedBytes = stack.Bytes,
                };
                item.Stacks.Add(reportStack);
                listed.Add(new ListedStack(item, reportStack, shape, FirstOfCategory: i == 0));
            }
        }
        return cells;
    }

    /// <summary>
    /// Without a census, the types as the allocation samples estimate them: each sample stands for
    /// the bytes and objects its chance of being drawn implies (the recorder's weighting), so the
    /// totals are unbiased estimates of what was allocated, not of what is live.
    /// </summary>
    private static List<ManagedTypeTotal> SampledTypes(ManagedAllocations allocations, out Dictionary<string, long> samplesByType)
    {
        samplesByType = new Dictionary<string, long>(StringComparer.Ordinal);
        var totals = new Dictionary<string, ManagedTypeTotal>(StringComparer.Ordinal);
        foreach (var stack in allocations.Stacks)
        {
            if (!totals.TryGetValue(stack.Type, out var total)) totals[stack.Type] = total = new ManagedTypeTotal { Name = stack.Type };
            total.Bytes += stack.Bytes;
            total.Count += stack.Count;
            samplesByType[stack.Type] = samplesByType.GetValueOrDefault(stack.Type) + stack.Samples;
        }
        return [.. totals.Values];
    }

    /// <summary>
    /// The 95 % bound of a sampled estimate's relative error: the samples of a type are Poisson
    /// (one per 100 KiB allocated on average), so n of them estimate its bytes within 1.96/√n
    /// (exact for objects far smaller than 100 KiB; bigger objects are drawn more surely and err less).
    /// </summary>
    public static double RelativeBound(long samples) => samples <= 0 ? 1 : Math.Min(1, 1.96 / Math.Sqrt(samples));

    /// <summary>
    /// Stacks by type, merged where their frames name the same methods (the same call path through
    /// a method's tier-0 and tier-1 code has different addresses but is one path to a reader).
    /// </summary>
    private static Dictionary<string, List<ManagedStack>> MergedStacks(ManagedAllocations allocations)
    {
        var merged = new Dictionary<(string Type, string Path), ManagedStack>();
        foreach (var stack in allocations.Stacks.OrderByDescending(s => s.Bytes))
        {
            var path = string.Join('\n', stack.Frames.Select(f => allocations.Frames[f] is { Function: { } function } ? function : $"0x{allocations.Frames[f].Address:x}"));
            if (merged.TryGetValue((stack.Type, path), out var into))
            {
                into.Samples += stack.Samples;
                into.Bytes += stack.Bytes;
                into.Count += stack.Count;
            }
            else merged[(stack.Type, path)] = new ManagedStack { Type = stack.Type, Frames = stack.Frames, Samples = stack.Samples, Bytes = stack.Bytes, Count = stack.Count };
        }
        return merged.Values.GroupBy(s => s.Type, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
    }

    /// <summary>
    /// A managed frame: its method as function; its assembly as a module with load base 0, so that
    /// the offset (pc − base) is the code address, as for JIT frames.
    /// </summary>
    private static ReportFrame Frame(ManagedFrame frame, StackShapes shapes)
    {
        var uuid = "";
        if (frame.Module is { Length: > 0 } path)
        {
            var module = new ModuleRecord(-1, path, BuildId: null, Base: 0, Size: 0, IsMain: false);
            uuid = module.Uuid;
            shapes.ModulesByUuid.TryAdd(uuid, module);
        }
        return new ReportFrame { Uuid = uuid, Offset = frame.Address, Function = frame.Function };
    }
}
