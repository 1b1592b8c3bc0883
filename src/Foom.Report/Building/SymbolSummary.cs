using Foom.Report.Model;

namespace Foom.Report.Building;

/// <summary>
/// The report's count of named and unnamed frames, by module, with what would name the rest: a
/// reader sees module+0xOFFSET and is told why instead of a guessed name.
/// </summary>
internal static class SymbolSummary
{
    /// <summary>What to do about unnamed frames in modules the machine has files for.</summary>
    public const string HowToName =
        "install the modules' debug symbols (Debian: the -dbgsym packages from the debug archive, which put them under " +
        "/usr/lib/debug/.build-id, found by build-id), keep a binary's .gnu_debuglink file beside it, or upload the debug " +
        "files to the server (POST /api/v1/symbols), which names the frames of the reports it receives";

    public static ReportSymbols Of(IReadOnlyDictionary<RawFrame, ReportFrame> frames, IReadOnlyDictionary<int, ModuleRecord> modules,
        IReadOnlyDictionary<int, string>? reasons)
    {
        var unnamed = new Dictionary<int, int>();
        foreach (var (raw, frame) in frames)
        {
            if (!string.IsNullOrEmpty(frame.Function)) continue;
            var module = raw.ModuleId >= 0 && modules.ContainsKey(raw.ModuleId) ? raw.ModuleId : -1;
            unnamed[module] = unnamed.GetValueOrDefault(module) + 1;
        }
        var summary = new ReportSymbols { Frames = frames.Count, UnnamedFrames = unnamed.Values.Sum() };
        foreach (var (id, count) in unnamed.OrderByDescending(p => p.Value).ThenBy(p => p.Key))
        {
            var known = modules.GetValueOrDefault(id);
            summary.UnnamedByModule.Add(new ReportUnnamedModule
            {
                Uuid = known?.Uuid ?? "",
                Name = known is null ? "(no module)" : Path.GetFileName(known.Path),
                UnnamedFrames = count,
                Reason = reasons?.GetValueOrDefault(id)
                         ?? (known is null ? "pcs in no loaded module (JIT code without a perf map, or code mapped by hand)" : "the symbolizer gave no reason"),
            });
        }
        if (summary.UnnamedFrames > 0) summary.HowToName = HowToName;
        return summary;
    }
}
