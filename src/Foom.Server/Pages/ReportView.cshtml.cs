using System.Globalization;
using System.Text.Json;
using Foom.Report.Callers;
using Foom.Report.Model;
using Foom.Report.Views;
using Foom.Server.Analysis;
using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using ReportDocument = Foom.Report.Model.Report;

namespace Foom.Server.Pages;

public sealed class ReportViewModel(Database database, CallerRules callerRules, ReportSymbolication symbolication, FoomServerOptions options) : PageModel
{
    /// <summary>
    /// Stacks listed under a category, for the largest categories: the rest are in the call tree
    /// and the flame graph (a report of thousands of stacks made a page of 8 MB otherwise).
    /// </summary>
    public const int StacksPerCategory = 3;
    public const int CategoriesWithStacks = 20;

    /// <summary>Frames the call tree shows at most.</summary>
    public const int TreeNodes = 1500;

    /// <summary>top-down or inverted: which call tree leads the page.</summary>
    [BindProperty(SupportsGet = true)] public string? Tree { get; set; }
    /// <summary>"show" keeps the allocator and runtime frames in the call tree and the flame graph.</summary>
    [BindProperty(SupportsGet = true)] public string? System { get; set; }

    public string Id { get; private set; } = "";
    public StoredReport Row { get; private set; } = null!;
    public ReportDocument Report { get; private set; } = null!;
    public List<Suspect> Suspects { get; private set; } = [];
    public long Total { get; private set; }
    public CallTree Calls { get; private set; } = null!;
    public bool Inverted => Tree == "inverted";
    public bool ShowSystem => System == "show";
    private Func<string, string?> _moduleNames = _ => null;

    public async Task<IActionResult> OnGetAsync(string id) => await LoadAsync(id) ?? Page();

    /// <summary>The report in speedscope's format, for the vendored speedscope viewer (or a download).</summary>
    public async Task<IActionResult> OnGetSpeedscopeAsync(string id)
    {
        if (await LoadAsync(id) is { } notFound) return notFound;
        var stream = new MemoryStream();
        SpeedscopeView.Write(Report, $"{Row.AppId} {Row.ReportId}", stream);
        stream.Position = 0;
        return File(stream, "application/json", $"{Row.ReportId.Replace(':', '-')}.speedscope.json");
    }

    private async Task<IActionResult?> LoadAsync(string id)
    {
        Id = id;
        StoredReport? row;
        using (var connection = database.Open()) row = ReportStore.Find(connection, id);
        if (row is null) return NotFoundPage.Of(this, $"No report has the id '{Format.Short(id)}'.");
        Row = row;
        Report = ReportParser.Deserialize(UploadBody.Gunzip(Row.RawGzip));
        await symbolication.ApplyAsync(Report, HttpContext.RequestAborted);
        _moduleNames = CallerRules.ModuleNames(Report.Modules);
        var listed = Report.Items.Sum(i => i.Size);
        Total = Row.FootprintBytes is > 0 ? Math.Max(Row.FootprintBytes.Value, listed) : listed;
        Calls = new CallTree(callerRules, Report);
        using var suspects = JsonDocument.Parse(Row.SuspectsJson);
        Suspects = suspects.RootElement.EnumerateArray().Select(s => new Suspect(
            s.GetProperty("category").GetString() ?? "", s.GetProperty("size").GetInt64(), s.GetProperty("count").GetInt64(),
            s.GetProperty("reason_kind").GetString() ?? "", s.GetProperty("reason").GetString() ?? "", s.GetProperty("severity").GetDouble())).ToList();
        return null;
    }

    public CallTreeNode CallTreeRoot() => Inverted ? Calls.Inverted(!ShowSystem) : Calls.TopDown(!ShowSystem);

    /// <summary>The flame graph's data: top-down with the categories on top; the largest 5000 frames down to 1/20 000 of the total, the rest summed.</summary>
    public string FlameJson()
    {
        var root = Calls.TopDown(!ShowSystem, categoryLeaves: true);
        return Charts.FlameJson(root, CallTree.Visible(root, Math.Max(1, root.Bytes / 20_000), 5000));
    }

    /// <summary>A link to the source line of a frame (FOOM_SOURCE_URL's {file} and {line}), or null where the file is unknown.</summary>
    public string? SourceLink(string? file, int? line) =>
        file is null ? null
            : options.SourceUrl.Replace("{file}", file.StartsWith('/') ? file[1..] : file, StringComparison.Ordinal)
                .Replace("{line}", (line ?? 1).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>Query string for this page with one setting changed.</summary>
    public string With(string? tree, string? system)
    {
        var parts = new List<string>();
        if (tree is "inverted") parts.Add("tree=inverted");
        if (system is "show") parts.Add("system=show");
        return parts.Count == 0 ? "?" : "?" + string.Join('&', parts);
    }

    public int CallerIndex(ReportStack stack) =>
        CallerRules.HasEvidence(stack.Frames, _moduleNames)
            ? callerRules.FindCaller(stack.Frames, _moduleNames)
            : stack.Frames.FindIndex(f => CallerRules.FormatCaller(f) == stack.Caller);

    public string FrameText(ReportFrame frame)
    {
        var (display, _) = CallerRules.Describe(frame, _moduleNames);
        return string.IsNullOrEmpty(frame.Function) ? display : $"{display}  [{CallerRules.FormatCaller(frame)}]";
    }

    /// <summary>
    /// The run's footprint against its limit, with the memory warnings. Foom reports carry the
    /// samples in head.footprint_samples ([[ms, bytes], ...]) and the warnings in head.warnings
    /// ([{time, footprint_bytes, limit_bytes, source}]); docs/report-format.md describes them.
    /// A report with fewer than two samples says so instead of drawing a line from one point.
    /// </summary>
    public LineChart Timeline()
    {
        var head = Report.Head;
        var samples = (head.FootprintSamples ?? []).Where(p => p is { Length: >= 2 }).OrderBy(p => p[0]).ToList();
        long start = head.LaunchTime is > 0 ? head.LaunchTime.Value : samples.Count > 0 ? samples[0][0] : 0;
        var xs = samples.Select(s => (s[0] - start) / 1000.0).ToList();
        var series = new List<ChartSeries> { new("footprint", samples.Select(s => (double?)s[1]).ToList()) };
        var limit = Row.LimitBytes ?? head.LimitBytes;
        if (limit is > 0) series.Add(new ChartSeries("limit " + Format.Bytes(limit), samples.Select(_ => (double?)limit).ToList(), Dashed: true));
        var markers = (head.Warnings ?? []).Where(w => w is not null && start > 0)
            .Select(w => new ChartMarker((w.Time - start) / 1000.0, $"memory warning ({w.Source}) at {Format.Bytes(w.FootprintBytes)}")).ToList();
        var note = samples.Count switch
        {
            0 => $"this report carries no footprint samples{(Row.FootprintBytes is > 0 ? "; the footprint at the report was " + Format.Bytes(Row.FootprintBytes) : "")}",
            1 => "this report carries one footprint sample: the footprint over the run is not known",
            _ => $"{Format.Count(samples.Count, "sample")}, {Format.Count(markers.Count, "memory warning")}",
        };
        return new LineChart("timeline-chart", "Footprint", "seconds", "bytes", samples.Count == 0 ? [] : xs, series, markers, note);
    }
}
