using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;

namespace Foom.Server.Pages;

/// <summary>The page for a status without a body of its own: an unknown path, app, issue or report, a bad request.</summary>
public sealed class ErrorModel : PageModel
{
    public int Code { get; private set; }
    public string Title { get; private set; } = "";
    public string? Message { get; private set; }
    public string? Path { get; private set; }

    public void OnGet(int? code)
    {
        Code = code is >= 400 and <= 599 ? code.Value : 404;
        Response.StatusCode = Code;
        Title = ReasonPhrases.GetReasonPhrase(Code);
        Message = HttpContext.Items[NotFoundPage.MessageKey] as string;
        Path = HttpContext.Features.Get<IStatusCodeReExecuteFeature>()?.OriginalPath;
    }
}
