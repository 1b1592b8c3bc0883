using System.Collections.Concurrent;
using System.Net;

namespace Foom.Server.Auth;

/// <summary>
/// Failed logins counted per client address and per user name, each over a sliding window:
/// once either count reaches its limit, logins from that address (or as that user) answer 429
/// with Retry-After until the oldest failure in the window has aged out, and the password is
/// not even checked. A success clears the address's count. The counts live in this server's
/// memory: servers sharing a database each count their own, and a restart forgets them.
/// Addresses are bounded: past <see cref="MaxTrackedClients"/> the expired ones are dropped,
/// and when none has expired the least recent goes.
/// </summary>
public sealed class LoginThrottle(LoginLimits limits, TimeProvider time)
{
    public const int MaxTrackedClients = 10_000;

    private readonly ConcurrentDictionary<string, Failures> _byClient = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Failures> _byUser = new(StringComparer.Ordinal);

    /// <summary>How long <paramref name="client"/> (as <paramref name="user"/>) must wait before trying again, or null when it may try now.</summary>
    public TimeSpan? RetryAfter(IPAddress? client, string? user)
    {
        var now = time.GetUtcNow();
        var byClient = _byClient.TryGetValue(ClientKey(client), out var c) ? c.Wait(now, limits.PerClient, limits.Window) : null;
        var byUser = _byUser.TryGetValue(UserKey(user), out var u) ? u.Wait(now, limits.PerUser, limits.Window) : null;
        return byClient > byUser || byUser is null ? byClient : byUser;
    }

    public void Failed(IPAddress? client, string? user)
    {
        var now = time.GetUtcNow();
        if (_byClient.Count >= MaxTrackedClients) Prune(_byClient, now);
        if (_byUser.Count >= MaxTrackedClients) Prune(_byUser, now);
        _byClient.GetOrAdd(ClientKey(client), _ => new Failures()).Add(now, limits.Window);
        _byUser.GetOrAdd(UserKey(user), _ => new Failures()).Add(now, limits.Window);
    }

    public void Succeeded(IPAddress? client) => _byClient.TryRemove(ClientKey(client), out _);

    private static string ClientKey(IPAddress? client) => client?.ToString() ?? "";

    /// <summary>Any name counts (a guesser tries names too); long ones are cut so they cannot swell memory.</summary>
    private static string UserKey(string? user) => user is null ? "" : user.Length <= 64 ? user : user[..64];

    private void Prune(ConcurrentDictionary<string, Failures> table, DateTimeOffset now)
    {
        foreach (var (key, failures) in table)
            if (failures.Expired(now, limits.Window)) table.TryRemove(key, out _);
        while (table.Count >= MaxTrackedClients && table.MinBy(pair => pair.Value.Latest) is { Key: { } oldest })
            table.TryRemove(oldest, out _);
    }

    /// <summary>The times of one client's (or user's) failures within the window, oldest first.</summary>
    private sealed class Failures
    {
        private readonly Queue<DateTimeOffset> _times = new();

        public DateTimeOffset Latest { get; private set; }

        public void Add(DateTimeOffset now, TimeSpan window)
        {
            lock (_times)
            {
                Drop(now, window);
                _times.Enqueue(now);
                Latest = now;
            }
        }

        public TimeSpan? Wait(DateTimeOffset now, int limit, TimeSpan window)
        {
            lock (_times)
            {
                Drop(now, window);
                if (_times.Count < limit) return null;
                // Free again when enough of the oldest failures have left the window.
                return _times.ElementAt(_times.Count - limit) + window - now;
            }
        }

        public bool Expired(DateTimeOffset now, TimeSpan window)
        {
            lock (_times) return Latest + window <= now;
        }

        private void Drop(DateTimeOffset now, TimeSpan window)
        {
            while (_times.Count > 0 && _times.Peek() + window <= now) _times.Dequeue();
        }
    }
}
