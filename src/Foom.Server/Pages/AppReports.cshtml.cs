using Foom.Server.Data;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class AppReportsModel(Database database) : PageModel
{
    public string App { get; private set; } = "";
    public List<StoredReport> Reports { get; private set; } = [];

    public IActionResult OnGet(string app)
    {
        if (NotFoundPage.ForApp(this, database, app, out var appId) is { } notFound) return notFound;
        App = appId;
        using var connection = database.Open();
        Reports = ReportStore.Latest(connection, App, 100);
        return Page();
    }
}
