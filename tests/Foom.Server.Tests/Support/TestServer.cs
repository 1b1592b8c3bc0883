using System.Net.Http.Headers;
using System.Text;
using Foom.Server;
using Foom.Storage.Sessions;
using Npgsql;

namespace Foom.Server.Tests.Support;

/// <summary>
/// A real Kestrel server on 127.0.0.1 with a free port, over a fresh SQLite file or a fresh
/// PostgreSQL database (made on the server named by FOOM_TEST_POSTGRES, else on a throwaway
/// cluster of the test process's own, and dropped afterwards).
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    public const string IngestKey = "test-ingest-key-0123456789";
    public const string AdminToken = "test-admin-token-0123456789";
    public const string AdminPassword = "test-admin-password";

    private readonly string? _postgresDatabase;

    private TestServer(FoomServerHandle handle, string dataRoot, string? postgresDatabase, string? databaseSetting)
    {
        Handle = handle;
        DataRoot = dataRoot;
        _postgresDatabase = postgresDatabase;
        DatabaseSetting = databaseSetting;
        Client = new HttpClient { BaseAddress = handle.Url, Timeout = TimeSpan.FromSeconds(120) };
    }

    public FoomServerHandle Handle { get; }
    public string DataRoot { get; }
    public string? DatabaseSetting { get; }
    public HttpClient Client { get; }
    public Uri Url => Handle.Url;

    public static async Task<TestServer> StartAsync(string databaseKind, Action<FoomServerOptions>? configure = null)
    {
        var dataRoot = Path.Combine(Path.GetTempPath(), "foom-server-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataRoot);
        string? pgName = null;
        string? setting = null;
        if (databaseKind == "postgres")
        {
            (pgName, setting) = await CreatePostgresDatabaseAsync();
        }
        else if (databaseKind != "sqlite") throw new ArgumentException($"unknown database kind {databaseKind}");
        var options = new FoomServerOptions
        {
            Data = new DataDirectory(dataRoot),
            Urls = ["http://127.0.0.1:0"],
            Database = setting,
            IngestKey = IngestKey,
            AdminToken = AdminToken,
            AdminPassword = AdminPassword,
            ConsoleLogging = false,
            Print = _ => { },
        };
        configure?.Invoke(options);
        var handle = await FoomServer.StartAsync(options);
        return new TestServer(handle, dataRoot, pgName, setting);
    }

    /// <summary>
    /// The PostgreSQL server for tests: the one FOOM_TEST_POSTGRES names, else a throwaway cluster
    /// of this test process's own; a machine without PostgreSQL fails loudly, never skips.
    /// </summary>
    public static string PostgresConnectionString =>
        Environment.GetEnvironmentVariable("FOOM_TEST_POSTGRES") is { Length: > 0 } value ? value : ThrowawayPostgres.ConnectionString;

    public static async Task<(string Name, string ConnectionString)> CreatePostgresDatabaseAsync()
    {
        var admin = PostgresConnectionString;
        var name = "foom_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(admin) { Database = name };
        return (name, builder.ToString());
    }

    public static async Task DropPostgresDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(PostgresConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    public HttpRequestMessage Ingest(HttpMethod method, string path, string? key = IngestKey)
    {
        var request = new HttpRequestMessage(method, path);
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    public async Task<HttpResponseMessage> PostJsonAsync(string path, string json, string? key = IngestKey, bool gzip = false)
    {
        var request = Ingest(HttpMethod.Post, path, key);
        var bytes = Encoding.UTF8.GetBytes(json);
        request.Content = new ByteArrayContent(gzip ? Gzip(bytes) : bytes);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (gzip) request.Content.Headers.ContentEncoding.Add("gzip");
        return await Client.SendAsync(request);
    }

    public async Task<HttpResponseMessage> GetAdminAsync(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return await Client.SendAsync(request);
    }

    public async Task<HttpResponseMessage> PostAdminAsync(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return await Client.SendAsync(request);
    }

    public static byte[] Gzip(byte[] bytes, bool smallest = false)
    {
        using var output = new MemoryStream();
        var level = smallest ? System.IO.Compression.CompressionLevel.SmallestSize : System.IO.Compression.CompressionLevel.Fastest;
        using (var gzip = new System.IO.Compression.GZipStream(output, level)) gzip.Write(bytes);
        return output.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Handle.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_postgresDatabase is not null) await DropPostgresDatabaseAsync(_postgresDatabase);
        try
        {
            Directory.Delete(DataRoot, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a pooled SQLite connection: the temp folder is cleaned later.
        }
    }
}
