using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class PolicyModel(Database database) : PageModel
{
    public string App { get; private set; } = "";
    [BindProperty] public double RatePercent { get; set; } = 100;
    [BindProperty] public string? Users { get; set; }
    [BindProperty] public string? Devices { get; set; }
    [BindProperty] public string? Gray { get; set; }
    public string? Message { get; private set; }
    public bool Failed { get; private set; }

    public IActionResult OnGet(string app)
    {
        if (!TrySetApp(app)) return NotFound();
        using var connection = database.Open();
        Show(PolicyStore.Get(connection, App));
        return Page();
    }

    public IActionResult OnPost(string app)
    {
        if (!TrySetApp(app)) return NotFound();
        if (!ModelState.IsValid || double.IsNaN(RatePercent) || RatePercent is < 0 or > 100)
        {
            (Failed, Message) = (true, "The sample rate must be a number from 0 to 100.");
            return Page();
        }
        var policy = new SamplingPolicy
        {
            AppId = App,
            SampleRate = RatePercent / 100,
            WhitelistUsers = PolicyStore.Lines(Users),
            WhitelistDevices = PolicyStore.Lines(Devices),
            GrayVersions = PolicyStore.Lines(Gray),
        };
        if (policy.WhitelistUsers.Concat(policy.WhitelistDevices).Concat(policy.GrayVersions).Any(v => v.Length > 256))
        {
            (Failed, Message) = (true, "Entries are at most 256 characters.");
            return Page();
        }
        using var connection = database.Open();
        PolicyStore.Save(connection, policy);
        Show(PolicyStore.Get(connection, App));
        Message = "Saved.";
        return Page();
    }

    private bool TrySetApp(string app)
    {
        try
        {
            App = ReportParser.CheckAppId(app, "app");
            return true;
        }
        catch (UploadRejectedException)
        {
            return false;
        }
    }

    private void Show(SamplingPolicy policy)
    {
        RatePercent = Math.Round(policy.SampleRate * 100, 3);
        Users = string.Join('\n', policy.WhitelistUsers);
        Devices = string.Join('\n', policy.WhitelistDevices);
        Gray = string.Join('\n', policy.GrayVersions);
    }
}
