using Foom.Server.Data;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class IndexModel(Database database) : PageModel
{
    public List<AppRow> Apps { get; private set; } = [];

    public void OnGet()
    {
        using var connection = database.Open();
        Apps = AppStore.Apps(connection);
    }
}
