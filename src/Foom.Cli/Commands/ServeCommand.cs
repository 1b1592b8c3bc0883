using System.CommandLine;
using Foom.Server;
using Foom.Storage.Sessions;

namespace Foom.Cli.Commands;

internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen, e.g. http://0.0.0.0:8080 (several separated by ';')", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var db = new Option<string?>("--db") { Description = "PostgreSQL connection string (Host=...;Database=...;Username=...) or SQLite file; default: an SQLite file in the data directory" };
        var data = new Option<string?>("--data") { Description = "Data directory (default: $FOOM_DATA, else $XDG_DATA_HOME/foom, else ~/.local/share/foom)" };
        var command = new Command("serve", "Run the Foom server: ingest, analysis, issues and pages. "
            + "Environment: FOOM_INGEST_KEY (upload key for every app), FOOM_ADMIN_TOKEN (read API), FOOM_ADMIN_PASSWORD (pages login), FOOM_INGEST_RATE (uploads/s per key)")
        {
            urls, db, data,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = FoomServerOptions.FromEnvironment(DataDirectory.Resolve(parse.GetValue(data)));
            options.Urls = (parse.GetValue(urls) ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            options.Database = parse.GetValue(db);
            try
            {
                await using var server = await FoomServer.StartAsync(options, cancellationToken);
                await server.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or System.Data.Common.DbException)
            {
                Console.Error.WriteLine($"foom serve: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
