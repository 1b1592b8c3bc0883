using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class AppReportsModel(Database database) : PageModel
{
    public string App { get; private set; } = "";
    public List<StoredReport> Reports { get; private set; } = [];

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
        Reports = ReportStore.Latest(connection, App, 100);
        return Page();
    }
}
