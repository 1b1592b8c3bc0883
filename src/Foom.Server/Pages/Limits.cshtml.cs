using Foom.Server.Data;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class LimitsModel(Database database) : PageModel
{
    public List<DeviceLimitRow> Rows { get; private set; } = [];

    public void OnGet()
    {
        using var connection = database.Open();
        Rows = JetsamStore.DeviceLimits(connection);
    }
}
