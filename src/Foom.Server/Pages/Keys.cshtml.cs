using Foom.Server.Auth;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class KeysModel(IngestKeys keys) : PageModel
{
    public List<IngestKeyRow> Keys { get; private set; } = [];
    public string? NewKey { get; private set; }
    public string? NewKeyApp { get; private set; }
    public string? Error { get; private set; }
    public bool HasEnvironmentKey => keys.HasEnvironmentKey;

    public void OnGet() => Keys = keys.List();

    public void OnPostCreate(string? app, string? label)
    {
        try
        {
            var appId = ReportParser.CheckAppId(app ?? "", "app");
            var text = string.IsNullOrWhiteSpace(label) ? "" : label.Trim();
            if (text.Length > 200) throw new UploadRejectedException(400, "the label is longer than 200 characters");
            NewKey = keys.Create(appId, text);
            NewKeyApp = appId;
        }
        catch (UploadRejectedException e)
        {
            Error = e.Message;
        }
        Keys = keys.List();
    }

    public void OnPostRevoke(long id)
    {
        keys.Revoke(id);
        Keys = keys.List();
    }
}
