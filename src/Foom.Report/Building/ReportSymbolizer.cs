using Foom.Symbols;
using Foom.Symbols.Jit;

namespace Foom.Report.Building;

/// <summary>
/// Names a report's frames with Foom.Symbols' <see cref="Symbolizer"/>: one request per report
/// with its modules and distinct frames, perf maps for JIT code. A module that cannot be read
/// leaves its frames as uuid@offset (the server may name them later from uploaded symbols).
/// </summary>
public static class ReportSymbolizer
{
    /// <summary>One symbolizer for the process: it caches modules by build-id across reports.</summary>
    public static Symbolizer Shared { get; } = new();

    public static FrameSymbolizer For(Symbolizer symbolizer, IReadOnlyList<string> perfMaps) => (modules, frames) =>
    {
        var index = new Dictionary<int, int>();
        var moduleInfos = new List<ModuleInfo>(modules.Count);
        foreach (var module in modules)
        {
            index[module.Id] = moduleInfos.Count;
            moduleInfos.Add(new ModuleInfo(module.Path, module.BuildId, module.Base, module.Start, module.Start == 0 ? 0 : module.Size));
        }
        var refs = frames.Select(f => index.TryGetValue(f.Raw.ModuleId, out var m)
            ? new FrameRef(m, f.Raw.Offset, f.IsReturnAddress)
            : FrameRef.Pc(f.Raw.Offset, f.IsReturnAddress)).ToList();
        var result = symbolizer.Symbolize(new SymbolizeRequest { Modules = moduleInfos, Frames = refs, PerfMaps = perfMaps });
        for (var i = 0; i < frames.Count; i++)
        {
            var symbol = result.Frames[i];
            var frame = frames[i].Frame;
            frame.Function = symbol.Function;
            frame.File = symbol.File;
            frame.Line = symbol.Line;
        }
        var reasons = new Dictionary<int, string>();
        for (var m = 0; m < modules.Count; m++) reasons[modules[m].Id] = WhyUnnamed(result.Modules[m]);
        return reasons;
    };

    /// <summary>Why a module's unnamed frames have no name: it could not be read, or the symbols it has hold none of them.</summary>
    private static string WhyUnnamed(ModuleStatus status)
    {
        if (status.Problem is { } problem) return problem;
        var what = status.SymbolTableKind switch
        {
            ".dynsym" => "only .dynsym, the exported functions of a stripped binary",
            null => "no symbol table",
            var kind => kind,
        };
        return $"{status.SymbolFile ?? status.Module.Path} has {what}, and no symbol there contains these addresses"
               + (status.Note is { } note ? $" ({note})" : "");
    }

    /// <summary>
    /// The perf maps of a session: the copies the recorder keeps in its directory (taken
    /// periodically, at warnings and at the end), and, while the program is still recorded,
    /// /tmp/perf-PID.map itself, which is newer than the last copy, when the program wrote it
    /// (not an earlier process with its pid). Once the recording has ended the pid may belong to
    /// another process, so its /tmp file is not read.
    /// </summary>
    public static List<string> PerfMapsOf(string sessionDirectory, int pid, DateTime programStarted, bool recording = true)
    {
        var maps = Directory.Exists(sessionDirectory) ? Directory.EnumerateFiles(sessionDirectory, "perf-*.map").ToList() : [];
        var live = $"/tmp/perf-{pid}.map";
        if (recording && pid > 0 && PerfMap.WrittenSince(live, programStarted)) maps.Add(live);
        return maps;
    }
}
