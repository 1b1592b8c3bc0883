using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using Foom.Server.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Foom.Server.Auth;

/// <summary>
/// The security stamp of the pages' sessions, kept in the database's settings: each session
/// cookie carries the stamp of its login, and a cookie whose stamp is no longer the current one
/// is refused. Logging out renews the stamp, so a copy of the cookie (taken before the logout,
/// or kept by another browser) stops working on every server sharing the database. The cookie
/// is encrypted and signed, so only the server can write a stamp into it.
/// </summary>
public sealed class SessionStamp(Database database)
{
    public const string ClaimType = "foom:session_stamp";

    public string Current()
    {
        using var connection = database.Open();
        var stamp = connection.ExecuteScalar<string?>("SELECT value FROM settings WHERE key = 'session_stamp'");
        if (stamp is not null) return stamp;
        connection.Execute("INSERT INTO settings (key, value) VALUES ('session_stamp', @stamp) ON CONFLICT (key) DO NOTHING", new { stamp = NewStamp() });
        return connection.ExecuteScalar<string>("SELECT value FROM settings WHERE key = 'session_stamp'")!;
    }

    /// <summary>Makes every session cookie issued so far invalid.</summary>
    public void Renew()
    {
        Current();
        using var connection = database.Open();
        connection.Execute("UPDATE settings SET value = @stamp WHERE key = 'session_stamp'", new { stamp = NewStamp() });
    }

    /// <summary>The cookie middleware's check of every signed-in request.</summary>
    public async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var stamp = context.Principal?.FindFirstValue(ClaimType);
        if (stamp is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(stamp), Encoding.UTF8.GetBytes(Current()))) return;
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    }

    private static string NewStamp() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
