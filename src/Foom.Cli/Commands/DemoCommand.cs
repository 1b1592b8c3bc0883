using System.CommandLine;
using System.Security.Cryptography;
using Foom.Recorder.Launch;
using Foom.Recorder.Recording;
using Foom.Upload;
using Foom.Server;
using Foom.Storage.Sessions;

namespace Foom.Cli.Commands;

/// <summary>
/// `foom demo`: the whole system in one command for a newcomer. It starts the server on the
/// embedded default (SQLite in the data directory), runs the bundled sample (samples/chat-cache)
/// a few times under a memory limit — once to a normal exit, then killed by the kernel for
/// memory in two different places — uploads each run's launch record and each FOOM's report,
/// and prints where the pages are and how to log in.
/// </summary>
internal static class DemoCommand
{
    public const string AppId = "demo-chat";
    private const long Limit = 64L << 20;

    /// <summary>The sample's runs, in order: (mode, what it shows).</summary>
    private static readonly (string Mode, string Shows)[] Runs =
    [
        ("browse", "a normal session that exits"),
        ("chat", "an unbounded message cache in the ChatRoom scene"),
        ("gallery", "photos decoded at full size in the Gallery scene"),
        ("chat", "the ChatRoom cache again: a second report of the same cause"),
    ];

    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where the server listens", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var data = new Option<string?>("--data") { Description = "Data directory (default: $FOOM_DATA, else $XDG_DATA_HOME/foom, else ~/.local/share/foom)" };
        var noServe = new Option<bool>("--no-serve") { Description = "Stop once the reports are uploaded instead of serving the pages until Ctrl+C" };
        var command = new Command("demo", "Start the server, run a sample that gets killed under a memory limit, upload its reports, and print where to look")
        {
            urls, data, noServe,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var sample = Path.Combine(AppContext.BaseDirectory, "samples", "chat_cache");
            if (!File.Exists(sample))
            {
                Console.Error.WriteLine($"foom demo: the sample program {sample} is missing; `dotnet build` compiles it (it needs gcc)");
                return 1;
            }
            if (!PackagedFiles.EnsureExecutable(sample)) return 1;
            var dataDirectory = DataDirectory.Resolve(parse.GetValue(data));
            try
            {
                return await RunDemoAsync(dataDirectory, parse.GetValue(urls) ?? "", sample, !parse.GetValue(noServe), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException or System.Data.Common.DbException)
            {
                Console.Error.WriteLine($"foom demo: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static async Task<int> RunDemoAsync(DataDirectory data, string urls, string sample, bool serve, CancellationToken cancellationToken)
    {
        var options = FoomServerOptions.FromEnvironment(data);
        options.Urls = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        options.ConsoleLogging = false;
        // A demo keeps one login across restarts, so its output can always show it.
        options.AdminPassword ??= DemoSecret(data, "demo-password");
        options.IngestKey ??= DemoSecret(data, "demo-ingest-key");
        await using var server = await FoomServer.StartAsync(options, cancellationToken);
        Console.WriteLine($"foom demo: server at {server.Url} (data in {data.Root})");

        var killed = 0;
        foreach (var (mode, shows) in Runs)
        {
            Console.WriteLine($"foom demo: running the sample ({mode}: {shows}) under a {ByteSize.Format(Limit)} limit");
            // As `foom run --server` does: a launch record per start, the report of each FOOM.
            var outcome = await RunSession.RunAsync(new RunOptions
            {
                Command = [sample, mode],
                AppId = AppId,
                Data = data,
                LimitBytes = Limit,
                // The demo's own runs are all kept (foom run keeps 3 by default); an earlier demo's go.
                Keep = Runs.Length,
                Upload = new RunUpload(server.Url, options.IngestKey),
            }, Console.Error);
            if (outcome.Info is not { } info)
            {
                Console.Error.WriteLine($"foom demo: the sample could not be recorded: {outcome.RecordingProblem}");
                return 1;
            }
            Console.Error.WriteLine(RunCommand.Summary(outcome, info));
            if (outcome.Verdict?.Reason is ExitReason.ForegroundOom) killed++;
        }

        // Each run gave its uploads a few seconds; whatever a slow machine left in the queue goes now.
        using var uploader = new Uploader(UploadQueue.In(data), new UploaderOptions { Server = server.Url, IngestKey = options.IngestKey });
        var sent = await uploader.FlushAsync(TimeSpan.FromSeconds(60), cancellationToken);
        if (sent.Remaining > 0 || sent.Failed.Count > 0)
        {
            Console.Error.WriteLine($"foom demo: the server did not take every upload ({sent.StoppedBecause ?? string.Join("; ", sent.Failed)})");
            return 1;
        }
        Console.WriteLine($"foom demo: {Runs.Length} runs, {killed} killed for memory; launch records and {killed} reports uploaded");
        Console.WriteLine($"foom demo: open {new Uri(server.Url, $"apps/{AppId}")}");
        Console.WriteLine($"foom demo: login: user 'admin', password '{options.AdminPassword}'");
        Console.WriteLine($"foom demo: ingest key '{options.IngestKey}': ./foom run --server {server.Url} --ingest-key {options.IngestKey} -- PROGRAM");
        Console.WriteLine($"foom demo: API reference {new Uri(server.Url, "api-reference")} (the login above reads the API)");
        Console.WriteLine($"foom demo: or in the terminal: ./foom sessions --app {AppId}; ./foom report");
        if (!serve) return 0;
        Console.WriteLine("foom demo: serving until Ctrl+C");
        await server.WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    /// <summary>A random secret kept in the server's folder (mode 0600), made on the demo's first start.</summary>
    private static string DemoSecret(DataDirectory data, string name)
    {
        var directory = Path.Combine(data.Root, "server");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        if (File.Exists(path)) return File.ReadAllText(path).Trim();
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        File.WriteAllText(path, secret);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return secret;
    }
}
