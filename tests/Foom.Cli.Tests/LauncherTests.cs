using System.Diagnostics;
using System.Reflection.PortableExecutable;
using Foom.Testing;

namespace Foom.Cli.Tests;

/// <summary>
/// The repository's ./foom, as the README has users run it: it builds foom.dll and its libraries
/// ahead of time (ReadyToRun) into .foom/bin for the other commands, and `foom run` compiled to
/// native code into .foom/native, and `./foom run` records with the native one. The other tests'
/// `foom run` goes through the same native build (Support/NativeFoom), their other commands
/// through the foom.dll built beside them.
/// </summary>
public sealed class LauncherTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("foom-launcher-").FullName;

    [Fact]
    public async Task TheLauncherBuildsFoomAheadOfTimeAndWhatItBuiltRecordsARun()
    {
        var repository = NativeFoom.Repository;

        // The program prints its parent's executable: the recorder that started it.
        var start = new ProcessStartInfo(Path.Combine(repository, "foom")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "run", "--data", _data, "--app", "launcher", "--", "/bin/sh", "-c", "readlink /proc/$PPID/exe" })
            start.ArgumentList.Add(argument);
        using var foom = Process.Start(start) ?? throw new InvalidOperationException("./foom could not be started");
        // The first use builds everything (some minutes on a loaded machine); later uses only run.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(15));
        var output = foom.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = foom.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await foom.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            foom.Kill(entireProcessTree: true);
            throw new TimeoutException("./foom run -- /bin/sh (building first if needed) did not finish in 15 minutes");
        }
        var described = $"exit {foom.ExitCode}\n--- stdout\n{await output}\n--- stderr\n{await errors}";
        var buildLog = Path.Combine(repository, ".foom", "build.log");
        Assert.True(foom.ExitCode == 0, described + (File.Exists(buildLog) ? $"\n--- {buildLog}\n{File.ReadAllText(buildLog)}" : ""));
        Assert.Contains("foom: exit status 0: exit (observed)", await errors);
        Assert.Equal(Path.Combine(repository, ".foom", "native", "foom"), (await output).Trim());
        Assert.Single(Directory.GetDirectories(Path.Combine(_data, "launcher", "sessions")));

        foreach (var assembly in new[] { "foom.dll", "Foom.Recorder.dll", "Foom.Storage.dll", "Foom.Ring.dll", "System.CommandLine.dll" })
        {
            var path = Path.Combine(repository, ".foom", "bin", assembly);
            using var reader = new PEReader(File.OpenRead(path));
            // A ReadyToRun image carries its native code's header in the CLI header.
            Assert.True(reader.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0, $"{path} is not a ReadyToRun image");
        }
    }

    public void Dispose() => Directory.Delete(_data, recursive: true);
}
