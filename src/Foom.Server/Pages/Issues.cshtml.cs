using Dapper;
using Foom.Server.Data;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

/// <summary>An app's issues, searched and filtered by version, reason, category, caller, device model and state.</summary>
public sealed class IssuesModel(Database database) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? Version { get; set; }
    [BindProperty(SupportsGet = true)] public string? Reason { get; set; }
    [BindProperty(SupportsGet = true)] public string? Category { get; set; }
    [BindProperty(SupportsGet = true)] public string? Caller { get; set; }
    [BindProperty(SupportsGet = true)] public string? Device { get; set; }
    [BindProperty(SupportsGet = true)] public string? State { get; set; }

    public string App { get; private set; } = "";
    public List<IssueRow> Issues { get; private set; } = [];
    public List<string> Versions { get; private set; } = [];
    public List<string> Reasons { get; private set; } = [];
    public List<string> Devices { get; private set; } = [];

    public IActionResult OnGet(string app)
    {
        if (NotFoundPage.ForApp(this, database, app, out var appId) is { } notFound) return notFound;
        App = appId;
        using var connection = database.Open();
        Versions = connection.Query<string>("SELECT DISTINCT app_version FROM reports WHERE app_id = @App", new { App }).OrderDescending(VersionOrder.Comparer).ToList();
        Reasons = connection.Query<string>("SELECT DISTINCT reason_kind FROM reports WHERE app_id = @App ORDER BY reason_kind", new { App }).ToList();
        Devices = connection.Query<string>("SELECT DISTINCT phone FROM reports WHERE app_id = @App AND phone IS NOT NULL ORDER BY phone", new { App }).ToList();
        var filter = new IssueFilter(Blank(Version), Blank(Reason), Blank(Category), Blank(Caller), Blank(Device),
            IssueFilter.States.Contains(State ?? "") ? State : null);
        Issues = ReportStore.Issues(connection, App, filter: filter);
        return Page();
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}
