using System.Diagnostics;
using System.Text;

namespace Foom.Symbols.Tools;

/// <summary>
/// Runs one external tool (llvm-symbolizer, addr2line, c++filt) as a filter: all input on stdin,
/// all output read concurrently (so neither side can fill a pipe and wait on the other), within a
/// time limit after which the tool is killed.
/// </summary>
internal static class ToolRunner
{
    /// <summary>The first executable named one of <paramref name="names"/> in the folders of <paramref name="searchPath"/>.</summary>
    public static string? Find(string? searchPath, params string[] names)
    {
        var folders = (searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in names)
        {
            foreach (var folder in folders)
            {
                var candidate = Path.Combine(folder, name);
                if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
                    return candidate;
            }
        }
        return null;
    }

    public sealed record Outcome(string Output, string? Problem);

    public static async Task<Outcome> RunAsync(string tool, IEnumerable<string> arguments, string input, TimeSpan timeout, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        // Debuginfod would have the tool fetch debug files over the network: never while a report waits.
        start.Environment.Remove("DEBUGINFOD_URLS");
        start.Environment["LC_ALL"] = "C";

        var name = Path.GetFileName(tool);
        Process process;
        try { process = Process.Start(start) ?? throw new InvalidOperationException(); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new Outcome("", $"{name} could not be started: {e.Message}");
        }

        using (process)
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation))
        {
            deadline.CancelAfter(timeout);
            var output = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var errors = process.StandardError.ReadToEndAsync(deadline.Token);
            try
            {
                try
                {
                    await process.StandardInput.WriteAsync(input.AsMemory(), deadline.Token);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // The tool exited without reading all its input; its exit status and stderr say why.
                }
                await process.WaitForExitAsync(deadline.Token);
                var text = await output;
                var errorText = await errors;
                if (process.ExitCode != 0)
                    return new Outcome(text, $"{name} exited with status {process.ExitCode}: {FirstLine(errorText)}");
                return new Outcome(text, null);
            }
            catch (OperationCanceledException)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                cancellation.ThrowIfCancellationRequested();
                return new Outcome("", $"{name} did not finish within {timeout.TotalSeconds:0} s and was stopped");
            }
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "(no message)";
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}
