using System.Text.Json;
using Foom.Report.Callers;
using Foom.Report.Model;
using Foom.Server.Analysis;
using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Html;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using ReportDocument = Foom.Report.Model.Report;

namespace Foom.Server.Pages;

public sealed class ReportViewModel(Database database, CallerRules callerRules, ReportSymbolication symbolication) : PageModel
{
    public string Id { get; private set; } = "";
    public StoredReport? Row { get; private set; }
    public ReportDocument? Report { get; private set; }
    public List<Suspect> Suspects { get; private set; } = [];
    public long Total { get; private set; }
    private Func<string, string?> _moduleNames = _ => null;

    public async Task<IActionResult> OnGetAsync(string id)
    {
        Id = id;
        using (var connection = database.Open()) Row = ReportStore.Find(connection, id);
        if (Row is null) return NotFound();
        Report = ReportParser.Deserialize(UploadBody.Gunzip(Row.RawGzip));
        await symbolication.ApplyAsync(Report, HttpContext.RequestAborted);
        _moduleNames = CallerRules.ModuleNames(Report.Modules);
        Total = Report.Head.FootprintBytes is > 0 ? Math.Max(Report.Head.FootprintBytes.Value, Report.Items.Sum(i => i.Size)) : Report.Items.Sum(i => i.Size);
        using var suspects = JsonDocument.Parse(Row.SuspectsJson);
        Suspects = suspects.RootElement.EnumerateArray().Select(s => new Suspect(
            s.GetProperty("category").GetString() ?? "", s.GetProperty("size").GetInt64(), s.GetProperty("count").GetInt64(),
            s.GetProperty("reason_kind").GetString() ?? "", s.GetProperty("reason").GetString() ?? "", s.GetProperty("severity").GetDouble())).ToList();
        return Page();
    }

    public int CallerIndex(ReportStack stack) =>
        CallerRules.HasEvidence(stack.Frames, _moduleNames)
            ? callerRules.FindCaller(stack.Frames, _moduleNames)
            : stack.Frames.FindIndex(f => CallerRules.FormatCaller(f) == stack.Caller);

    public string FrameText(ReportFrame frame)
    {
        var (display, _) = ReportAnalyzer.Describe(frame, _moduleNames);
        var location = frame.File is null ? "" : $"  {frame.File}{(frame.Line is null ? "" : ":" + frame.Line)}";
        return string.IsNullOrEmpty(frame.Function) ? display : $"{display}  [{CallerRules.FormatCaller(frame)}]{location}";
    }

    /// <summary>
    /// The run's footprint against its limit, with the memory warnings. Foom reports carry the
    /// samples in head.footprint_samples ([[ms, bytes], ...]) and the warnings in head.warnings
    /// ([{time, footprint_bytes, limit_bytes, source}]); docs/report-format.md describes them.
    /// </summary>
    public HtmlString Timeline()
    {
        var head = Report!.Head;
        var samples = (head.FootprintSamples ?? []).Where(p => p is { Length: >= 2 }).Select(p => ((double)p[0], (double)p[1])).ToList();
        long start = head.LaunchTime ?? 0;
        if (samples.Count > 0 && start <= 0) start = (long)samples.Min(s => s.Item1);
        var warnings = (head.Warnings ?? []).Where(w => w is not null)
            .Select(w => ((w.Time - start) / 1000.0, $"memory warning ({w.Source}) at {Format.Bytes(w.FootprintBytes)}")).ToList();
        if (samples.Count == 0 && head.FootprintBytes is > 0 && head.ReportTime is > 0 && start > 0)
            samples.Add((head.ReportTime.Value, head.FootprintBytes.Value));
        var points = samples.Select(s => ((s.Item1 - start) / 1000.0, s.Item2)).ToList();
        var limit = head.LimitBytes is > 0 ? ((double)head.LimitBytes.Value, "limit " + Format.Bytes(head.LimitBytes)) : ((double, string)?)null;
        return Charts.LineChart(samples.Count == 0 ? "Footprint (no samples in this report)" : "Footprint", [new Charts.Series("footprint", points)],
            x => x.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " s", y => Format.Bytes((long)y),
            horizontalLine: limit, markers: warnings, cssClass: "timeline");
    }
}
