using System.Diagnostics;

namespace Foom.Testing;

/// <summary>
/// The native `foom run` that ./foom builds (compiled ahead of time into .foom/native) and runs
/// for `run`: the tests' `foom run` goes through it, as a user's does. The first use builds it
/// through ./foom (minutes on a loaded machine; ./foom builds one at a time); a build that fails
/// fails every test that needs it, with the build's log.
/// </summary>
public static class NativeFoom
{
    private static readonly Lazy<string> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The repository's root (the folder holding Foom.slnx above the tests' output).</summary>
    public static string Repository { get; } = FindRepository();

    /// <summary>The native executable, built first when it is missing or older than the sources.</summary>
    public static string Executable => Built.Value;

    private static string Build()
    {
        var start = new ProcessStartInfo(Path.Combine(Repository, "foom")) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--version");
        using var foom = Process.Start(start) ?? throw new InvalidOperationException("./foom could not be started");
        var errors = foom.StandardError.ReadToEndAsync();
        var output = foom.StandardOutput.ReadToEnd();
        if (!foom.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            foom.Kill(entireProcessTree: true);
            throw new TimeoutException("./foom --version (building first) did not finish in 15 minutes");
        }
        var executable = Path.Combine(Repository, ".foom", "native", "foom");
        if (foom.ExitCode == 0 && File.Exists(executable)) return executable;
        var log = Path.Combine(Repository, ".foom", "native-build.log");
        throw new InvalidOperationException(
            $"./foom did not build the native foom run ({executable}): exit {foom.ExitCode}\n--- stdout\n{output}\n--- stderr\n{errors.Result}" +
            (File.Exists(log) ? $"\n--- {log}\n{File.ReadAllText(log)}" : ""));
    }

    private static string FindRepository()
    {
        var repository = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repository, "Foom.slnx")))
            repository = Path.GetDirectoryName(repository.TrimEnd('/')) ?? throw new InvalidOperationException($"no Foom.slnx above {AppContext.BaseDirectory}");
        return repository;
    }
}
