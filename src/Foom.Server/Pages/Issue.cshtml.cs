using Foom.Server.Analysis;
using Foom.Server.Data;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class IssueModel(Database database, HintStore hints) : PageModel
{
    public string App { get; private set; } = "";
    public IssueRow? Issue { get; private set; }
    public IReadOnlyList<Hint> Hints { get; private set; } = [];
    public List<StoredReport> Reports { get; private set; } = [];
    public List<IssueVersion> Versions { get; private set; } = [];
    public List<IssueDay> Days { get; private set; } = [];

    public IActionResult OnGet(string app, string issue) => Load(app, issue) ?? Page();

    /// <summary>Resolves the issue in its newest version: a report from a newer one will show it as regressed.</summary>
    public IActionResult OnPostResolve(string app, string issue) => Change(app, issue, resolve: true);

    public IActionResult OnPostReopen(string app, string issue) => Change(app, issue, resolve: false);

    private IActionResult Change(string app, string issue, bool resolve)
    {
        if (Load(app, issue) is { } notFound) return notFound;
        using (var connection = database.Open())
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (resolve) IssueStates.Resolve(connection, App, Issue!.IssueKey, null, now);
            else IssueStates.Reopen(connection, App, Issue!.IssueKey, now);
        }
        return Redirect($"/apps/{Uri.EscapeDataString(App)}/issues/{Uri.EscapeDataString(issue)}");
    }

    private IActionResult? Load(string app, string issue)
    {
        if (NotFoundPage.ForApp(this, database, app, out var appId, mustExist: false) is { } notFound) return notFound;
        App = appId;
        using var connection = database.Open();
        Issue = ReportStore.Issues(connection, App, limit: 1, issueKey: issue).FirstOrDefault();
        if (Issue is null) return NotFoundPage.Of(this, $"{App} has no issue '{Format.Short(issue)}'.");
        Hints = hints.Current.Match(Issue.Category, Issue.Caller1, Issue.Caller2, Issue.ReasonKind);
        Reports = ReportStore.OfIssue(connection, App, issue);
        Versions = IssueStates.Versions(connection, App, issue);
        Days = IssueStates.Trend(connection, App, issue);
        return null;
    }

    public LineChart Trend() => new("issue-trend", "Reports and devices per day", "day", "count",
        Days.Select(d => d.Day * 86_400.0).ToList(),
        [new ChartSeries("reports", Days.Select(d => (double?)d.Reports).ToList()), new ChartSeries("devices", Days.Select(d => (double?)d.Devices).ToList())],
        [], $"{Format.Count(Issue!.Reports, "report")} since {Format.Time(Issue.FirstSeen)}");
}
