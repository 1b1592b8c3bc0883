using System.Security.Cryptography;
using System.Text;
using Dapper;
using Foom.Server.Data;

namespace Foom.Server.Auth;

/// <summary>
/// The pages' login: user "admin" with FOOM_ADMIN_PASSWORD when it is set, else a password
/// generated at the first start, printed once, and kept only as a PBKDF2 hash.
/// </summary>
public sealed class AdminPassword
{
    public const string UserName = "admin";
    private const int Iterations = 210_000;
    private readonly string? _fromEnvironment;
    private readonly string _storedHash;

    private AdminPassword(string? fromEnvironment, string storedHash)
    {
        _fromEnvironment = fromEnvironment;
        _storedHash = storedHash;
    }

    /// <summary>Set when this start generated the password (to be printed once).</summary>
    public string? Generated { get; private init; }

    public static AdminPassword Initialize(Database database, string? fromEnvironment)
    {
        if (fromEnvironment is not null) return new AdminPassword(fromEnvironment, "");
        using var connection = database.Open();
        var stored = connection.ExecuteScalar<string?>("SELECT value FROM settings WHERE key = 'admin_password_hash'");
        if (stored is not null) return new AdminPassword(null, stored);
        var generated = Convert.ToBase64String(RandomNumberGenerator.GetBytes(12)).Replace('+', 'x').Replace('/', 'y').TrimEnd('=');
        var hash = Hash(generated);
        connection.Execute("INSERT INTO settings (key, value) VALUES ('admin_password_hash', @hash) ON CONFLICT (key) DO NOTHING", new { hash });
        // Another server on the same database may have won the race: use what is stored.
        var winner = connection.ExecuteScalar<string>("SELECT value FROM settings WHERE key = 'admin_password_hash'")!;
        return winner == hash ? new AdminPassword(null, hash) { Generated = generated } : new AdminPassword(null, winner);
    }

    public bool Verify(string? user, string? password)
    {
        if (user != UserName || string.IsNullOrEmpty(password)) return false;
        if (_fromEnvironment is not null)
            return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(password)), SHA256.HashData(Encoding.UTF8.GetBytes(_fromEnvironment)));
        var parts = _storedHash.Split('$');
        if (parts.Length != 4 || !int.TryParse(parts[1], out var iterations)) return false;
        var salt = Convert.FromBase64String(parts[2]);
        var expected = Convert.FromBase64String(parts[3]);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA256, 32);
        return $"pbkdf2-sha256${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }
}
