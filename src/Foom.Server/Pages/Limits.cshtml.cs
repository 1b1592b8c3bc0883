using Foom.Server.Data;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class LimitsModel(Database database, JetsamKills jetsamKills) : PageModel
{
    public List<DeviceLimitRow> Rows { get; private set; } = [];
    /// <summary>Every process the JetsamEvent logs say was killed, newest log first.</summary>
    public List<JetsamKill> Kills { get; private set; } = [];
    public int UnreadableLogs { get; private set; }
    public const int KillsShown = 500;

    public void OnGet()
    {
        var (kills, unreadable) = jetsamKills.All(database);
        UnreadableLogs = unreadable;
        using (var connection = database.Open()) Rows = JetsamStore.DeviceLimits(connection, kills);
        Kills = kills.OrderByDescending(k => k.EventTime ?? k.ReceivedAt).ThenBy(k => k.Process, StringComparer.Ordinal).Take(KillsShown).ToList();
    }
}
