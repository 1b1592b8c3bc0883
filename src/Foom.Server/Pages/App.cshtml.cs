using Dapper;
using Foom.Server.Analysis;
using Foom.Server.Data;
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
    /// <summary>Reports of foreground OOMs received in the window, to set beside the FOOMs the launches counted.</summary>
    public long FoomReports { get; private set; }

    public IActionResult OnGet(string app)
    {
        if (NotFoundPage.ForApp(this, database, app, out var appId) is { } notFound) return notFound;
        App = appId;
        using var connection = database.Open();
        var fromDay = Format.Today() - Days + 1;
        Rates = LaunchStore.Rates(connection, App, fromDay);
        FoomReports = connection.ExecuteScalar<long>("SELECT COUNT(*) FROM reports WHERE app_id = @App AND exit_reason = 'foreground_oom' AND day >= @fromDay",
            new { App, fromDay });
        Groups = ReportStore.Issues(connection, App)
            .GroupBy(i => i.Level1Key)
            .Select(g => new Level1(g.Key, g.First().Caller1 ?? g.First().Category, g.Sum(i => i.Reports), g.Sum(i => i.Bytes), g.ToList()))
            .OrderByDescending(g => g.Reports).ThenByDescending(g => g.Bytes)
            .ToList();
        return Page();
    }

    public IReadOnlyList<Hint> HintsOf(IssueRow issue) => hints.Current.Match(issue.Category, issue.Caller1, issue.Caller2, issue.ReasonKind);

    public long Launches => Rates.Sum(r => r.Launches);
    public long PreviousRuns => Rates.Sum(r => r.PreviousRuns);
    public long Fooms => Rates.Sum(r => r.Fooms);

    /// <summary>One chart of a rate per day: all versions together, and the five most launched versions.</summary>
    public LineChart Chart(string id, string title, Func<RateRow, long> events)
    {
        var days = Rates.Select(r => r.Day).Distinct().Order().ToList();
        var series = new List<ChartSeries>
        {
            new("all versions", days.Select(d => Share(Rates.Where(r => r.Day == d).ToList(), events)).ToList()),
        };
        foreach (var version in Rates.GroupBy(r => r.AppVersion).OrderByDescending(g => g.Sum(r => r.Launches)).Take(5))
        {
            var byDay = version.ToDictionary(r => r.Day);
            series.Add(new ChartSeries(Format.Version(version.Key), days.Select(d => byDay.TryGetValue(d, out var r) ? Share([r], events) : null).ToList()));
        }
        var total = Rates.Sum(events);
        var note = $"{Format.Count(total, "run")} of {Format.Count(PreviousRuns, "previous run")}";
        return new LineChart(id, title, "day", "percent", days.Select(d => d * 86_400.0).ToList(), series, [], note);
    }

    private static double? Share(List<RateRow> rows, Func<RateRow, long> events)
    {
        var runs = rows.Sum(r => r.PreviousRuns);
        return runs == 0 ? null : (double)rows.Sum(events) / runs;
    }
}
