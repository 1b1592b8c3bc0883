using System.CommandLine;
using Foom.Upload;
using Foom.Storage.Sessions;

namespace Foom.Cli.Commands;

/// <summary>
/// `foom upload [REPORT|SESSION...] [--server URL] [--ingest-key KEY] [--app ID] [--data DIR]`:
/// queues each report (a session is built into one first) in the data directory's upload queue,
/// then sends the whole queue, what earlier runs left in it included. An explicit upload is
/// sent whatever the server's sampling policy says. Exit status 0 when the queue was emptied,
/// 1 when something was refused or is still waiting (it stays queued for the next upload or run).
/// </summary>
internal static class UploadCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("INPUT")
        {
            Description = "report files or session directories; none sends what is queued",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var server = new Option<string?>("--server") { Description = "the Foom server's URL (else FOOM_SERVER)" };
        var key = new Option<string?>("--ingest-key") { Description = "the app's ingest key (else FOOM_INGEST_KEY)" };
        var app = new Option<string?>("--app") { Description = "the app of a Matrix report (Matrix reports do not name it)" };
        var data = new Option<string?>("--data") { Description = "the data directory (holds the upload queue)" };
        var command = new Command("upload", "Upload reports or sessions to a Foom server, with an on-disk queue that retries") { inputs, server, key, app, data };
        command.SetAction((parse, cancel) => Run(parse.GetValue(inputs) ?? [], parse.GetValue(server), parse.GetValue(key), parse.GetValue(app), parse.GetValue(data), cancel));
        return command;
    }

    private static async Task<int> Run(string[] inputs, string? serverOption, string? keyOption, string? app, string? dataPath, CancellationToken cancel)
    {
        var (server, key, problem) = ServerSettings.Resolve(serverOption, keyOption);
        if (problem is not null || server is null || key is null)
        {
            Console.Error.WriteLine($"foom upload: {problem ?? "give the server as --server http(s)://HOST:PORT or FOOM_SERVER"}");
            return 2;
        }

        var data = DataDirectory.Resolve(dataPath);
        // Someone is waiting at the terminal: three tries (about 3 s of backoff) before the queue is left for the next run.
        using var uploader = new Uploader(UploadQueue.In(data), new UploaderOptions { Server = server, IngestKey = key, MaxAttempts = 3 });
        foreach (var input in inputs)
        {
            var report = ReportLoading.Load("upload", input, dataPath, null);
            if (report is null) return ReportLoading.FailureStatus;
            try
            {
                if (uploader.EnqueueReport(report, sampled: false, matrixAppId: app).Dropped is { Count: > 0 } dropped)
                    Console.Error.WriteLine($"foom upload: {uploader.Queue.DroppedStatement(dropped)}");
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"foom upload: {input}: {e.Message}");
                return 2;
            }
        }

        var result = await uploader.FlushAsync(TimeSpan.FromMinutes(2), cancel);
        Console.Out.WriteLine($"foom upload: {result.Sent} sent, {result.Duplicates} already on the server, {result.Failed.Count} refused, {result.Remaining} still queued");
        foreach (var failure in result.Failed) Console.Error.WriteLine($"foom upload: refused: {failure} (kept in {uploader.Queue.FailedDirectory})");
        if (result.StoppedBecause is { } why) Console.Error.WriteLine($"foom upload: stopped: {why}; the queue in {uploader.Queue.Directory} is sent next time");
        return result.Failed.Count == 0 && result.Remaining == 0 ? 0 : 1;
    }
}
