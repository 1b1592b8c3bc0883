using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Foom.Server.Data;

public enum DatabaseKind { Sqlite, Postgres }

/// <summary>
/// Where the server keeps its data: an SQLite file (the default, nothing to set up) or a
/// PostgreSQL database. Every query goes through Dapper with parameters; the two dialects
/// differ only in the DDL that <see cref="Migrations"/> renders.
/// </summary>
public sealed class Database
{
    private readonly string _connectionString;

    private Database(DatabaseKind kind, string connectionString, string description)
    {
        Kind = kind;
        _connectionString = connectionString;
        Description = description;
    }

    public DatabaseKind Kind { get; }

    /// <summary>What to print: the file, or host and database (never the password).</summary>
    public string Description { get; }

    /// <summary>
    /// Reads --db: a PostgreSQL connection string ("Host=...;Database=..." or a postgres:// URL),
    /// an SQLite connection string ("Data Source=..."), or a path to an SQLite file. Null means
    /// the SQLite file in the data directory.
    /// </summary>
    public static Database FromSetting(string? setting, string defaultSqlitePath)
    {
        if (string.IsNullOrWhiteSpace(setting)) return Sqlite(defaultSqlitePath);
        var text = setting.Trim();
        if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            return Postgres(FromUrl(text));
        if (text.Contains('=') && (HasKey(text, "host") || HasKey(text, "server")))
            return Postgres(text);
        if (text.Contains('=') && HasKey(text, "data source"))
        {
            var builder = new SqliteConnectionStringBuilder(text);
            return Sqlite(builder.DataSource);
        }
        return Sqlite(text);
    }

    public static Database Sqlite(string path)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 60,
        };
        return new Database(DatabaseKind.Sqlite, builder.ToString(), $"SQLite {full}");
    }

    public static Database Postgres(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--db: not a valid PostgreSQL connection string: {e.Message}", e);
        }
        builder.Enlist = false;
        if (builder.MaxPoolSize < 20) builder.MaxPoolSize = 20;
        return new Database(DatabaseKind.Postgres, builder.ToString(), $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}");
    }

    /// <summary>An open connection; SQLite connections get the settings that make commits durable.</summary>
    public DbConnection Open() => Open(forGroupCommit: false);

    /// <summary>
    /// The group-commit writer's connections leave WAL checkpoints to <see cref="Checkpoint"/>,
    /// run beside them, so that a commit waits for its own fsync and never for a checkpoint's.
    /// </summary>
    public DbConnection Open(bool forGroupCommit)
    {
        if (Kind == DatabaseKind.Postgres)
        {
            var pg = new NpgsqlConnection(_connectionString);
            pg.Open();
            return pg;
        }
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL lets the pages read while uploads are written; synchronous=FULL makes a commit
        // durable (fsync of the WAL) before the server answers 202.
        command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=60000; PRAGMA foreign_keys=ON;"
            + (forGroupCommit ? " PRAGMA wal_autocheckpoint=0;" : "");
        command.ExecuteNonQuery();
        return connection;
    }

    /// <summary>Copies committed WAL pages into the SQLite file without blocking writers (no-op on PostgreSQL).</summary>
    public void Checkpoint()
    {
        if (Kind != DatabaseKind.Sqlite) return;
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        command.ExecuteNonQuery();
    }

    private static bool HasKey(string connectionString, string key) =>
        connectionString.Split(';').Any(part =>
        {
            var equals = part.IndexOf('=');
            return equals > 0 && part[..equals].Trim().Equals(key, StringComparison.OrdinalIgnoreCase);
        });

    private static string FromUrl(string url)
    {
        var uri = new Uri(url);
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')),
        };
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length > 1) builder.Password = Uri.UnescapeDataString(parts[1]);
        }
        return builder.ToString();
    }
}
