using Dapper;
using Foom.Server.Data;
using Foom.Server.Tests.Support;

namespace Foom.Server.Tests;

public sealed class MigrationTests
{
    [Theory, InlineData("sqlite"), InlineData("postgres")]
    public async Task MigrationsApplyInOrderOnceAndRefuseANewerSchema(string kind)
    {
        string? pgName = null;
        Database database;
        var folder = Path.Combine(Path.GetTempPath(), "foom-migration-" + Guid.NewGuid().ToString("N"));
        if (kind == "postgres")
        {
            (pgName, var connectionString) = await TestServer.CreatePostgresDatabaseAsync();
            database = Database.FromSetting(connectionString, "unused");
            Assert.Equal(DatabaseKind.Postgres, database.Kind);
        }
        else
        {
            database = Database.FromSetting(null, Path.Combine(folder, "foom.db"));
            Assert.Equal(DatabaseKind.Sqlite, database.Kind);
        }
        try
        {
            Assert.Equal(Migrations.All.Select(m => m.Version), Migrations.Apply(database));
            Assert.Empty(Migrations.Apply(database));
            using (var connection = database.Open())
            {
                Assert.Equal(Migrations.Latest, Migrations.CurrentVersion(connection));
                // Every table of every migration is there and usable.
                foreach (var table in new[] { "reports", "report_data", "ingest_keys", "settings", "launches", "policies" })
                    Assert.Equal(0, connection.ExecuteScalar<long>($"SELECT COUNT(*) FROM {table}"));
                connection.Execute("INSERT INTO schema_version (version, description, applied_at) VALUES (@v, 'from the future', 0)", new { v = Migrations.Latest + 1 });
            }
            var error = Assert.Throws<InvalidOperationException>(() => Migrations.Apply(database));
            Assert.Contains("newer", error.Message);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (pgName is not null) await TestServer.DropPostgresDatabaseAsync(pgName);
            if (Directory.Exists(folder)) Directory.Delete(folder, true);
        }
    }

    [Theory]
    [InlineData("Host=db.example;Database=foom;Username=u;Password=p", DatabaseKind.Postgres)]
    [InlineData("postgres://u:p@localhost:5433/foom", DatabaseKind.Postgres)]
    [InlineData("Data Source=/tmp/x/foom.db", DatabaseKind.Sqlite)]
    [InlineData("/tmp/x/other.db", DatabaseKind.Sqlite)]
    public void TheConnectionSettingPicksTheDatabase(string setting, DatabaseKind expected) =>
        Assert.Equal(expected, Database.FromSetting(setting, "/tmp/unused.db").Kind);
}
