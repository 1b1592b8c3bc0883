using System.Globalization;
using System.Security.Claims;
using Foom.Server.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foom.Server.Pages;

public sealed class LoginModel(AdminPassword password, LoginThrottle throttle, SessionStamp stamp) : PageModel
{
    [BindProperty] public string? UserName { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    public string? Error { get; private set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync()
    {
        var client = HttpContext.Connection.RemoteIpAddress;
        if (throttle.RetryAfter(client, UserName) is { } wait)
        {
            // Too many failures: the password is not even checked, so guessing gains nothing.
            var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            Error = $"Too many failed logins; try again in {seconds} s.";
            return Page();
        }
        if (!password.Verify(UserName, Password))
        {
            throttle.Failed(client, UserName);
            // A pause per failure slows guessing without locking the admin out.
            await Task.Delay(TimeSpan.FromMilliseconds(400));
            Error = "Wrong user or password.";
            return Page();
        }
        throttle.Succeeded(client);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, AdminPassword.UserName), new Claim(SessionStamp.ClaimType, stamp.Current())],
            CookieAuthenticationDefaults.AuthenticationScheme);
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity));
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : "/");
    }
}
