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
}
