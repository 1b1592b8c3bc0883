using System.Data.Common;
using Foom.Server;
using Foom.Server.Data;
using Foom.Storage.Sessions;

namespace Foom.Recording.Tests.Support;

/// <summary>
/// A real Foom server (Kestrel on 127.0.0.1, a free port, a fresh SQLite file) for `foom run
/// --server`, read back through its own database.
/// </summary>
public sealed class IngestServer : IAsyncDisposable
{
    public const string IngestKey = "recording-tests-ingest-key-0123456789";

    private readonly FoomServerHandle _handle;
    private readonly string _root;

    private IngestServer(FoomServerHandle handle, string root) => (_handle, _root) = (handle, root);

    public Uri Url => _handle.Url;

    public static async Task<IngestServer> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "foom-recording-server", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var handle = await FoomServer.StartAsync(new FoomServerOptions
        {
            Data = new DataDirectory(root),
            Urls = ["http://127.0.0.1:0"],
            IngestKey = IngestKey,
            AdminPassword = "recording-tests-password",
            ConsoleLogging = false,
            Print = _ => { },
        });
        return new IngestServer(handle, root);
    }

    /// <summary>The launch records the server stored for an app, in launch order.</summary>
    public List<(string LaunchId, string PrevExitReason, string? PrevExitHow)> Launches(string app) =>
        Query("SELECT launch_id, prev_exit_reason, prev_exit_how FROM launches WHERE app_id = @app ORDER BY launch_time, launch_id", app,
            row => (row.GetString(0), row.GetString(1), row.IsDBNull(2) ? null : row.GetString(2)));

    /// <summary>Who each launch and report of an app came from: (app_version, device_id, user_id), launches first.</summary>
    public List<(string Version, string? Device, string? User)> Identities(string app) =>
        Query("SELECT app_version, device_id, user_id FROM launches WHERE app_id = @app UNION ALL SELECT app_version, device_id, user_id FROM reports WHERE app_id = @app", app,
            row => (row.GetString(0), row.IsDBNull(1) ? null : row.GetString(1), row.IsDBNull(2) ? null : row.GetString(2)));

    /// <summary>The reports the server stored for an app.</summary>
    public List<(string ReportId, string? ExitReason)> Reports(string app) =>
        Query("SELECT report_id, exit_reason FROM reports WHERE app_id = @app ORDER BY report_id", app,
            row => (row.GetString(0), row.IsDBNull(1) ? null : row.GetString(1)));

    /// <summary>Saves the app's sampling policy, as its page does.</summary>
    public void SetSampleRate(string app, double rate)
    {
        using var connection = _handle.Database.Open();
        PolicyStore.Save(connection, new SamplingPolicy { AppId = app, SampleRate = rate });
    }

    private List<T> Query<T>(string sql, string app, Func<DbDataReader, T> read)
    {
        using var connection = _handle.Database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@app";
        parameter.Value = app;
        command.Parameters.Add(parameter);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read()) rows.Add(read(reader));
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await _handle.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file a pooled connection still holds: the temp folder is cleaned later.
        }
    }
}
