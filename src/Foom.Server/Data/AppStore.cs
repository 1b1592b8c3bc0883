using System.Data.Common;
using Dapper;

namespace Foom.Server.Data;

public sealed class AppRow
{
    public string AppId { get; set; } = "";
    public long Reports { get; set; }
    public long Launches { get; set; }
    public long? LastReport { get; set; }
}

/// <summary>The apps the server has heard of: those with reports or launch records.</summary>
public static class AppStore
{
    public static List<AppRow> Apps(DbConnection connection)
    {
        var reports = connection.Query<(string App, long Count, long Last)>("SELECT app_id, COUNT(*), MAX(received_at) FROM reports GROUP BY app_id")
            .ToDictionary(r => r.App);
        var launches = connection.Query<(string App, long Count)>("SELECT app_id, COUNT(*) FROM launches GROUP BY app_id").ToDictionary(r => r.App, r => r.Count);
        return reports.Keys.Union(launches.Keys).Order(StringComparer.Ordinal).Select(app => new AppRow
        {
            AppId = app,
            Reports = reports.TryGetValue(app, out var r) ? r.Count : 0,
            LastReport = reports.TryGetValue(app, out var l) ? l.Last : null,
            Launches = launches.GetValueOrDefault(app),
        }).ToList();
    }

    /// <summary>Whether any report or launch record of the app has reached the server.</summary>
    public static bool Exists(DbConnection connection, string app) =>
        connection.ExecuteScalar<long>(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM reports WHERE app_id = @app) OR EXISTS (SELECT 1 FROM launches WHERE app_id = @app) THEN 1 ELSE 0 END",
            new { app }) == 1;
}
