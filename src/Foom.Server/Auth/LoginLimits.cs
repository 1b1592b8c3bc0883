namespace Foom.Server.Auth;

/// <summary>
/// How many failed logins are allowed within <see cref="Window"/>: per client address, and per
/// user name (the second stops a guesser who spreads over many addresses; it can also make the
/// admin wait, which is the price of that).
/// </summary>
public sealed record LoginLimits(int PerClient, int PerUser, TimeSpan Window)
{
    public static LoginLimits Default { get; } = new(PerClient: 10, PerUser: 30, Window: TimeSpan.FromMinutes(15));
}
