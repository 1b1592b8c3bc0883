using Foom.Server.Analysis;
using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Html;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class AppModel(Database database, HintStore hints) : PageModel
{
    public sealed record Level1(string Key, string Label, long Reports, long Bytes, List<IssueRow> Issues);

    public string App { get; private set; } = "";
    public int Days { get; } = 30;
    public List<Level1> Groups { get; private set; } = [];
    public List<RateRow> Rates { get; private set; } = [];

    public IActionResult OnGet(string app)
    {
        try
        {
            App = ReportParser.CheckAppId(app, "app");
        }
        catch (UploadRejectedException)
        {
            return NotFound();
        }
        using var connection = database.Open();
        var today = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 86_400_000;
        Rates = LaunchStore.Rates(connection, App, today - Days + 1);
        Groups = ReportStore.Issues(connection, App)
            .GroupBy(i => i.Level1Key)
            .Select(g => new Level1(g.Key, g.First().Caller1 ?? g.First().Category, g.Sum(i => i.Reports), g.Sum(i => i.Bytes), g.ToList()))
            .OrderByDescending(g => g.Reports).ThenByDescending(g => g.Bytes)
            .ToList();
        return Page();
    }

    public IReadOnlyList<Hint> HintsOf(IssueRow issue) => hints.Current.Match(issue.Category, issue.Caller1, issue.Caller2, issue.ReasonKind);

    /// <summary>One chart of a rate per day: all versions together, and the five most launched versions.</summary>
    public HtmlString Chart(string title, Func<RateRow, long> events)
    {
        var series = new List<Charts.Series>
        {
            new("all versions", Rates.GroupBy(r => r.Day).Select(g => ((double)g.Key, g.Sum(r => r.Launches) == 0 ? 0 : (double)g.Sum(events) / g.Sum(r => r.Launches))).ToList()),
        };
        foreach (var version in Rates.GroupBy(r => r.AppVersion).OrderByDescending(g => g.Sum(r => r.Launches)).Take(5))
            series.Add(new Charts.Series("v" + version.Key, version.Select(r => ((double)r.Day, r.Launches == 0 ? 0 : (double)events(r) / r.Launches)).ToList()));
        return Charts.LineChart(title, series, x => Format.Day((long)x), Format.Percent, cssClass: "trend");
    }
}
