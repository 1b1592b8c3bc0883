using System.Text.Json;
using Foom.Report.IO;
using Foom.Report.Model;

namespace Foom.Report.Building;

/// <summary>
/// Fits a report into its gzip'ed size budget by dropping the least important listed stacks,
/// never a category or its totals (docs/report-format.md, "Budget"). Importance: every
/// category's biggest listed stack comes first (in category order), then all other listed
/// stacks by size. The modules table keeps only the modules that kept frames refer to, and the
/// main binary.
/// </summary>
internal static class ReportBudget
{
    /// <summary>
    /// Keeps the most important stacks that fit and fills head.trimmed (which is part of what is
    /// measured). <paramref name="cells"/> is the number of (category, stack) pairs in the session.
    /// </summary>
    public static void Fit(Model.Report report, IReadOnlyList<ListedStack> listed, long cells,
        IReadOnlyDictionary<string, ModuleRecord> modulesByUuid, ModuleRecord? mainModule, long budget)
    {
        var trimmed = new ReportTrimmed { BudgetGzipBytes = budget };
        report.Head.Trimmed = trimmed;
        var order = listed
            .Select((entry, position) => (entry, position))
            .OrderByDescending(s => s.entry.FirstOfCategory)
            .ThenByDescending(s => s.entry.FirstOfCategory ? 0 : s.entry.Stack.Size)
            .ThenBy(s => s.position)
            .Select(s => s.entry)
            .ToList();
        var originalStacks = report.Items.ToDictionary(item => item, item => item.Stacks);

        void Keep(int count)
        {
            var kept = order.Take(count).Select(e => e.Stack).ToHashSet(ReferenceEqualityComparer.Instance);
            foreach (var item in report.Items)
                item.Stacks = originalStacks[item].Where(kept.Contains).ToList();
            report.Modules = ReferencedModules(report, modulesByUuid, mainModule);
            trimmed.BudgetStacks = order.Count - count;
            trimmed.BudgetBytes = order.Skip(count).Sum(e => e.Stack.Size);
            trimmed.UnlistedStacks = cells - count;
            trimmed.DeepStacks = 0;
            trimmed.DeepFrames = 0;
            foreach (var stack in order.Take(count).Select(e => e.Stack))
            {
                if (stack.FramesCut is not int cut) continue;
                trimmed.DeepStacks++;
                trimmed.DeepFrames += cut;
            }
        }

        if (budget == long.MaxValue)
        {
            // No budget: everything the selection chose, nothing measured.
            Keep(order.Count);
            return;
        }

        // Measured with the categories alone first: they are never dropped.
        Keep(0);
        var bare = ReportJson.GzipSize(report);
        if (bare > budget)
        {
            trimmed.OverBudget = true;
            return;
        }
        if (order.Count == 0) return;

        // The largest prefix of the importance order that fits. Gzip'ed size grows with the prefix
        // almost in proportion to its raw JSON, so secant steps on the raw size land within 2 % of
        // the budget in two or three compressions of the real report; bisection guarantees the end.
        var raw = new long[order.Count + 1];
        var stackJson = ReportJson.TypeInfo<ReportStack>(ReportJson.Compact);
        for (var i = 0; i < order.Count; i++)
            raw[i + 1] = raw[i] + JsonSerializer.SerializeToUtf8Bytes(order[i].Stack, stackJson).Length;
        int fits = 0, tooBig = order.Count + 1;
        long fitsSize = bare;
        var gzipPerRawByte = 0.12;   // a first guess for JSON frames; replaced by what is measured
        var target = budget - budget / 100;
        var closeEnough = budget - budget / 50;
        for (var step = 0; tooBig - fits > 1 && step < 16; step++)
        {
            var wantedRaw = raw[fits] + (target - fitsSize) / gzipPerRawByte;
            var guess = Array.BinarySearch(raw, (long)Math.Min(wantedRaw, long.MaxValue / 2));
            if (guess < 0) guess = ~guess - 1;
            if (guess <= fits) guess = fits + 1;
            if (guess >= tooBig || step >= 8) guess = fits + (tooBig - fits) / 2;
            Keep(guess);
            var size = ReportJson.GzipSize(report);
            if (size > fitsSize && raw[guess] > raw[fits])
                gzipPerRawByte = (size - fitsSize) / (double)(raw[guess] - raw[fits]);
            if (size <= budget)
            {
                fits = guess;
                fitsSize = size;
                if (fits == order.Count || size >= closeEnough) break;   // all of it, or within 2 % of the budget
            }
            else tooBig = guess;
        }
        Keep(fits);
    }

    private static List<ReportModule> ReferencedModules(Model.Report report, IReadOnlyDictionary<string, ModuleRecord> modulesByUuid, ModuleRecord? mainModule)
    {
        var uuids = new HashSet<string>(StringComparer.Ordinal);
        var modules = new List<ReportModule>();
        if (mainModule is not null && uuids.Add(mainModule.Uuid)) modules.Add(mainModule.ToReport());
        foreach (var item in report.Items)
            foreach (var stack in item.Stacks)
                foreach (var frame in stack.Frames)
                    if (frame.Uuid.Length > 0 && uuids.Add(frame.Uuid) && modulesByUuid.TryGetValue(frame.Uuid, out var module))
                        modules.Add(module.ToReport());
        return modules;
    }
}
