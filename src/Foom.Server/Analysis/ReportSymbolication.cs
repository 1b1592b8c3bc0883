using Foom.Symbols;
using Microsoft.Extensions.Logging;
using ReportDocument = Foom.Report.Model.Report;

namespace Foom.Server.Analysis;

/// <summary>
/// Names the frames a report brought without names, from the symbol files uploaded to
/// <c>POST /api/v1/symbols</c> (by build-id or LC_UUID) and, when the server runs where the
/// report was made, the module's own file (the Symbolizer checks its build-id first). Only
/// modules with a stored or local file are asked about, so a report whose frames nobody can name
/// costs a few dictionary look-ups. The raw upload is never changed: ingest, re-analysis and the
/// report page name frames the same way each time.
/// </summary>
public sealed class ReportSymbolication(Symbolizer symbolizer, SymbolStore store, ILogger<ReportSymbolication> logger)
{
    public SymbolStore Store => store;

    public async Task ApplyAsync(ReportDocument report, CancellationToken cancellationToken)
    {
        var moduleIndex = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var modules = new List<ModuleInfo>();
        var frames = new List<FrameRef>();
        var targets = new List<List<Report.Model.ReportFrame>>();
        var frameIndex = new Dictionary<(int, ulong, bool), int>();
        var byUuid = report.Modules.Where(m => !string.IsNullOrEmpty(m.Uuid)).GroupBy(m => m.Uuid, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
        foreach (var item in report.Items)
            foreach (var stack in item.Stacks)
                for (var f = 0; f < stack.Frames.Count; f++)
                {
                    var frame = stack.Frames[f];
                    if (!string.IsNullOrEmpty(frame.Function) || string.IsNullOrEmpty(frame.Uuid)) continue;
                    if (!moduleIndex.TryGetValue(frame.Uuid, out var module))
                    {
                        byUuid.TryGetValue(frame.Uuid, out var known);
                        var path = known?.Path;
                        var resolvable = store.Find(frame.Uuid) is not null || (path is not null && File.Exists(path));
                        module = resolvable ? modules.Count : -1;
                        if (resolvable) modules.Add(new ModuleInfo(path, frame.Uuid, known?.Base ?? 0));
                        moduleIndex[frame.Uuid] = module;
                    }
                    if (module < 0) continue;
                    var key = (module, frame.Offset, f > 0);
                    if (!frameIndex.TryGetValue(key, out var index))
                    {
                        frameIndex[key] = index = frames.Count;
                        frames.Add(new FrameRef(module, frame.Offset, IsReturnAddress: f > 0));
                        targets.Add([]);
                    }
                    targets[index].Add(frame);
                }
        if (frames.Count == 0) return;
        SymbolizeResult result;
        try
        {
            result = await symbolizer.SymbolizeAsync(new SymbolizeRequest { Modules = modules, Frames = frames }, cancellationToken);
        }
        catch (Exception e) when (e is SymbolFileException or IOException or InvalidOperationException)
        {
            // A symbol file that cannot be read leaves the frames as they came; the report is still filed.
            logger.LogWarning("symbolication of report {Report} failed: {Error}", report.Head.ReportId, e.Message);
            return;
        }
        for (var i = 0; i < frames.Count; i++)
        {
            var symbol = result.Frames[i];
            if (symbol.Function is null) continue;
            foreach (var frame in targets[i])
            {
                frame.Function = symbol.Function;
                frame.File ??= symbol.File;
                frame.Line ??= symbol.Line;
            }
        }
    }
}
