using Foom.Server.Analysis;
using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class IssueModel(Database database, HintStore hints) : PageModel
{
    public string App { get; private set; } = "";
    public IssueRow? Issue { get; private set; }
    public IReadOnlyList<Hint> Hints { get; private set; } = [];
    public List<StoredReport> Reports { get; private set; } = [];

    public IActionResult OnGet(string app, string issue)
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
        Issue = ReportStore.Issues(connection, App, limit: 1, issueKey: issue).FirstOrDefault();
        if (Issue is null) return NotFound();
        Hints = hints.Current.Match(Issue.Category, Issue.Caller1, Issue.Caller2, Issue.ReasonKind);
        Reports = ReportStore.OfIssue(connection, App, issue);
        return Page();
    }
}
