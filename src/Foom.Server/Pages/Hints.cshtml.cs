using Foom.Server.Analysis;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class HintsModel(HintStore store) : PageModel
{
    public string Json { get; private set; } = "";
    public string Path => store.Path;
    public bool IsCustom => store.IsCustom;
    public IReadOnlyList<Hint> Current => store.Current.Hints;
    public string? Message { get; private set; }
    public bool Failed { get; private set; }

    public void OnGet() => Json = store.Current.Json;

    public void OnPostSave(string? json)
    {
        Json = json ?? "";
        try
        {
            store.Save(Json);
            Message = "Saved.";
        }
        catch (InvalidDataException e)
        {
            (Failed, Message) = (true, e.Message);
        }
    }

    public void OnPostReset()
    {
        store.ResetToDefaults();
        Json = store.Current.Json;
        Message = "The default hints are in force again.";
    }
}
