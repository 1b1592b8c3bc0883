using System.Diagnostics;
using System.Text.Json;
using Foom.Storage.Sessions;

namespace Foom.Testing;

/// <summary>
/// The one way tests run the real command-line program: as its own process, with its own data
/// directory, the way a user runs ./foom: `run` through the native build ./foom makes
/// (<see cref="NativeFoom"/>), the other commands through foom.dll, built beside the tests (every
/// test project that runs it references Foom.Cli). FOOM_SERVER and FOOM_INGEST_KEY are taken out
/// of the environment the tests inherit, so that no test uploads to a server a user set up;
/// <see cref="Environment"/> adds or overrides what a test needs.
/// </summary>
public sealed class FoomCli : IDisposable
{
    private readonly bool _ownsDataDirectory;

    /// <summary>A fresh data directory under /tmp, removed at <see cref="Dispose"/>.</summary>
    public FoomCli()
    {
        DataDirectory = Path.Combine(Path.GetTempPath(), "foom-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataDirectory);
        _ownsDataDirectory = true;
    }

    /// <summary>The test's own data directory (FOOM_DATA), which the test removes; it need not exist.</summary>
    public FoomCli(string dataDirectory) => DataDirectory = dataDirectory;

    public string DataDirectory { get; }

    /// <summary>Variables set in the program's environment, after FOOM_DATA.</summary>
    public Dictionary<string, string> Environment { get; } = [];

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "foom.dll");

    /// <summary>Starts `foom ARGS` without waiting (for tests that kill it), its output redirected.</summary>
    public Process Start(params string[] arguments)
    {
        var native = arguments.Length > 0 && arguments[0] == "run";
        var start = new ProcessStartInfo(native ? NativeFoom.Executable : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (!native) start.ArgumentList.Add(Dll);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment.Remove("FOOM_SERVER");
        start.Environment.Remove("FOOM_INGEST_KEY");
        start.Environment["FOOM_DATA"] = DataDirectory;
        foreach (var (name, value) in Environment) start.Environment[name] = value;
        return Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} could not be started");
    }

    /// <summary>Runs `foom ARGS` to its end (3 minutes at most: a loaded machine) and gives what it did.</summary>
    public async Task<CliResult> RunAsync(params string[] arguments)
    {
        using var process = Start(arguments);
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"foom {string.Join(' ', arguments)} did not finish in 3 minutes");
        }
        return new CliResult(process.ExitCode, await output, await errors);
    }

    /// <summary><see cref="RunAsync"/> for synchronous tests.</summary>
    public CliResult Run(params string[] arguments) => RunAsync(arguments).GetAwaiter().GetResult();

    /// <summary>The session directories of an app, oldest first.</summary>
    public IReadOnlyList<string> Sessions(string appId)
    {
        var root = Path.Combine(DataDirectory, appId, "sessions");
        return Directory.Exists(root) ? [.. Directory.GetDirectories(root).Order(StringComparer.Ordinal)] : [];
    }

    public SessionInfo Info(string sessionDirectory) =>
        JsonSerializer.Deserialize<SessionInfo>(File.ReadAllText(Path.Combine(sessionDirectory, "session.json")))
        ?? throw new InvalidDataException($"{sessionDirectory}/session.json is null");

    /// <summary>
    /// The only session of an app once its session.json names the program's pid (the recorder
    /// writes session.json before the program starts and adds the pid just after, so a test that
    /// saw the program's first output may get there first).
    /// </summary>
    public async Task<SessionInfo> RunningSession(string appId)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var sessions = Sessions(appId);
            // session.json exists before the program starts; its pid is written once it has.
            if (sessions.Count == 1 && File.Exists(Path.Combine(sessions[0], "session.json")) && Info(sessions[0]) is { Pid: > 0 } info) return info;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no session.json naming the program's pid for {appId} after a minute");
            await Task.Delay(50);
        }
    }

    /// <summary>The only session of an app.</summary>
    public SessionInfo OnlySession(string appId) => Info(Assert.Single(Sessions(appId)));

    public void Dispose()
    {
        if (!_ownsDataDirectory) return;
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A session still being written by a killed recorder's leftovers: the temp folder keeps it.
        }
    }
}
