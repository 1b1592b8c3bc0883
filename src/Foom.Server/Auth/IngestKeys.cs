using System.Security.Cryptography;
using System.Text;
using Dapper;
using Foom.Server.Data;
using Microsoft.AspNetCore.Http;

namespace Foom.Server.Auth;

/// <summary>Who an ingest key lets in: every app (FOOM_INGEST_KEY) or one.</summary>
public sealed record IngestGrant(string? AppId, string KeyId)
{
    public bool Allows(string app) => AppId is null || AppId == app;
}

public sealed class IngestKeyRow
{
    public long Id { get; set; }
    public string? AppId { get; set; }
    public string Label { get; set; } = "";
    public string KeyPrefix { get; set; } = "";
    public long CreatedAt { get; set; }
    public long? RevokedAt { get; set; }
}

/// <summary>
/// Ingest keys. The environment's FOOM_INGEST_KEY is accepted for every app; further keys, one
/// app each, are made on the Keys page. Only a SHA-256 of each key is stored (the keys are 256
/// random bits, so a fast hash is enough); the key itself is shown once, when it is made.
/// Look-ups hit an in-memory table refreshed on every change and every few seconds, so that a
/// key revoked by another server on the same database stops working soon.
/// </summary>
public sealed class IngestKeys(Database database, string? environmentKey)
{
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(10);
    private readonly byte[]? _environmentHash = environmentKey is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(environmentKey));
    private volatile Dictionary<string, IngestGrant> _byHash = [];
    private long _loadedAt = long.MinValue;
    private readonly Lock _reloadLock = new();

    /// <summary>
    /// The grant of the request's bearer key, or null; worked out once per request (the rate
    /// limiter's partition and the endpoint's key filter both ask) and kept in the request's items.
    /// </summary>
    public IngestGrant? Check(HttpContext context)
    {
        if (context.Items.TryGetValue(GrantItem, out var known)) return (IngestGrant?)known;
        var grant = Check(context.Request.Headers.Authorization);
        context.Items[GrantItem] = grant;
        return grant;
    }

    private static readonly object GrantItem = new();

    /// <summary>The grant of the request's bearer key, or null when there is none or it is unknown.</summary>
    public IngestGrant? Check(string? authorizationHeader)
    {
        var key = Bearer.Token(authorizationHeader);
        if (key is null) return null;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        if (_environmentHash is not null && CryptographicOperations.FixedTimeEquals(hash, _environmentHash))
            return new IngestGrant(null, "env");
        ReloadIfStale();
        return _byHash.GetValueOrDefault(Convert.ToHexStringLower(hash));
    }

    /// <summary>Makes a key for <paramref name="appId"/>; returns the key, which is never stored.</summary>
    public string Create(string appId, string label)
    {
        var key = "fk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        using (var connection = database.Open())
            connection.Execute("INSERT INTO ingest_keys (app_id, label, key_hash, key_prefix, created_at) VALUES (@appId, @label, @hash, @prefix, @now)",
                new { appId, label, hash = HashOf(key), prefix = key[..7], now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
        Reload();
        return key;
    }

    public void Revoke(long id)
    {
        using (var connection = database.Open())
            connection.Execute("UPDATE ingest_keys SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL",
                new { id, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
        Reload();
    }

    public List<IngestKeyRow> List()
    {
        using var connection = database.Open();
        return connection.Query<IngestKeyRow>(
            "SELECT id AS Id, app_id AS AppId, label AS Label, key_prefix AS KeyPrefix, created_at AS CreatedAt, revoked_at AS RevokedAt FROM ingest_keys ORDER BY id").ToList();
    }

    public bool HasEnvironmentKey => _environmentHash is not null;

    public static string HashOf(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private void ReloadIfStale()
    {
        if (Environment.TickCount64 - Interlocked.Read(ref _loadedAt) < RefreshEvery.TotalMilliseconds) return;
        lock (_reloadLock)
        {
            if (Environment.TickCount64 - Interlocked.Read(ref _loadedAt) < RefreshEvery.TotalMilliseconds) return;
            Reload();
        }
    }

    private void Reload()
    {
        using var connection = database.Open();
        var rows = connection.Query<(long Id, string? AppId, string Hash)>("SELECT id, app_id, key_hash FROM ingest_keys WHERE revoked_at IS NULL");
        _byHash = rows.ToDictionary(r => r.Hash, r => new IngestGrant(r.AppId, "key" + r.Id), StringComparer.Ordinal);
        Interlocked.Exchange(ref _loadedAt, Environment.TickCount64);
    }
}

public static class Bearer
{
    public static string? Token(string? authorizationHeader)
    {
        if (string.IsNullOrEmpty(authorizationHeader)) return null;
        const string prefix = "Bearer ";
        if (!authorizationHeader.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return null;
        var token = authorizationHeader[prefix.Length..].Trim();
        return token.Length is 0 or > 512 ? null : token;
    }

    /// <summary>Constant-time comparison of a request's bearer token with the expected one.</summary>
    public static bool Matches(string? authorizationHeader, string? expected)
    {
        var token = Token(authorizationHeader);
        if (token is null || expected is null) return false;
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }
}
