using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Foom.Testing;

/// <summary>
/// samples/ViewModelHoarder, built beside the tests: a .NET program that keeps every chat
/// message's view model. Run directly (not under foom run) for the tests that drive the managed
/// recorder and the census themselves.
/// </summary>
public sealed partial class Hoarder : IDisposable
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "ViewModelHoarder.dll");

    private readonly Process _process;

    private Hoarder(Process process) => _process = process;

    public int Pid => _process.Id;

    /// <summary>View models held once it stopped growing ("holding N view models"), or at its first progress line.</summary>
    public long HeldViewModels { get; private set; }

    /// <summary>Starts it with --hold MB and waits until it holds them (and its diagnostics port is open).</summary>
    public static Task<Hoarder> HoldingAsync(int megabytes) =>
        StartAsync(["--rate", "40", "--hold", megabytes.ToString()], HoldingLine(), $"reach {megabytes} MB");

    /// <summary>Starts it growing at MB per second (until killed) and waits for its first progress line.</summary>
    public static Task<Hoarder> GrowingAsync(int megabytesPerSecond) =>
        StartAsync(["--rate", megabytesPerSecond.ToString()], HoardedLine(), "report progress");

    private static async Task<Hoarder> StartAsync(string[] arguments, Regex waitFor, string what)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Dll);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started");
        var hoarder = new Hoarder(process);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (waitFor.Match(line) is { Success: true } match)
                {
                    hoarder.HeldViewModels = long.Parse(match.Groups[1].Value);
                    // Keep reading so that its output never blocks it.
                    _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                    return hoarder;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Reported below.
        }
        hoarder.Dispose();
        throw new TimeoutException($"ViewModelHoarder did not {what} within a minute: {await process.StandardError.ReadToEndAsync()}");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"^holding (\d+) view models")]
    private static partial Regex HoldingLine();

    [GeneratedRegex(@"^hoarded \d+ chats, (\d+) view models")]
    private static partial Regex HoardedLine();
}
