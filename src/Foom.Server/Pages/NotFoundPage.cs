using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

/// <summary>
/// A page's answer for something that is not there: 404, and the status page (/error, re-executed
/// by the status code pages middleware) shows <paramref name="message"/> with a way back.
/// </summary>
public static class NotFoundPage
{
    public const string MessageKey = "foom.not-found";

    public static IActionResult Of(PageModel page, string message)
    {
        page.HttpContext.Items[MessageKey] = message;
        return page.NotFound();
    }

    /// <summary>
    /// Checks the app of a page's route: null and the app's id when the server has heard of it
    /// (<paramref name="mustExist"/>: a report or a launch record), else the 404 page saying why.
    /// </summary>
    public static IActionResult? ForApp(PageModel page, Database database, string app, out string appId, bool mustExist = true)
    {
        try
        {
            appId = ReportParser.CheckAppId(app, "app");
        }
        catch (UploadRejectedException)
        {
            appId = "";
            return Of(page, $"No app is named '{Format.Short(app)}'.");
        }
        if (!mustExist) return null;
        using var connection = database.Open();
        return AppStore.Exists(connection, appId) ? null : Of(page, $"No report or launch record of an app '{appId}' has reached this server.");
    }
}
