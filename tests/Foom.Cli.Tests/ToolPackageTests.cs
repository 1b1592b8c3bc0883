using System.Diagnostics;
using System.IO.Compression;
using Foom.Testing;

namespace Foom.Recording.Tests.Commands;

/// <summary>
/// Foom as a dotnet tool, as the README installs it: `dotnet pack` makes the package `foom`, which
/// `dotnet tool install` puts into a tool path; the installed `foom run` (the native build packed
/// beside foom.dll) records a program from a directory that is no clone of the repository, and
/// `foom report` and `foom serve --help` work from there too. Nothing is built on first use.
/// </summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("foom-tool-").FullName;

    [Fact]
    public async Task ThePackedToolInstallsAndRecordsAProgramFromAnyDirectory()
    {
        var packages = Path.Combine(_root, "packages");
        var tools = Path.Combine(_root, "tools");
        var work = Path.Combine(_root, "work");
        var data = Path.Combine(_root, "data");
        Directory.CreateDirectory(work);
        // The package comes from this folder only: no registry is asked, no other "foom" can be picked.
        File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><clear /><add key="foom" value="{packages}" /></packageSources>
            </configuration>
            """);

        // FoomToolBuild keeps the pack's build files apart from those of the tests running beside it.
        await Run(TimeSpan.FromMinutes(25), work, "dotnet", "pack", Path.Combine(NativeFoom.Repository, "src", "Foom.Cli", "Foom.Cli.csproj"),
            "-c", "Release", "-p:FoomToolBuild=true", "-o", packages, "-nologo");
        var package = Assert.Single(Directory.GetFiles(packages, "foom.*.nupkg"));
        using (var zip = ZipFile.OpenRead(package))
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            foreach (var file in new[] { "foom.dll", "foom-native", "libfoomhook.so", "samples/chat_cache" })
                Assert.Contains(names, n => n.StartsWith("tools/", StringComparison.Ordinal) && n.EndsWith("/" + file, StringComparison.Ordinal));
        }

        await Run(TimeSpan.FromMinutes(5), work, "dotnet", "tool", "install", "foom", "--tool-path", tools, "--configfile", Path.Combine(work, "nuget.config"));
        var foom = Path.Combine(tools, "foom");

        // The program prints its parent's executable: the recorder that started it, the packed native build.
        var run = await Run(TimeSpan.FromMinutes(5), work, foom, "run", "--data", data, "--app", "tooled", "--",
            "/bin/sh", "-c", "readlink /proc/$PPID/exe; head -c 3000000 /dev/zero | tr '\\0' x > /dev/null");
        Assert.EndsWith("/foom-native", run.Output.Trim(), StringComparison.Ordinal);
        Assert.Contains("foom: exit status 0: exit (observed)", run.Error);

        var report = await Run(TimeSpan.FromMinutes(5), work, foom, "report", "--data", data, "--app", "tooled", "--format", "json");
        Assert.Contains("\"app_id\": \"tooled\"", report.Output);
        var serve = await Run(TimeSpan.FromMinutes(5), work, foom, "serve", "--help");
        Assert.Contains("--db", serve.Output);
        // How to run a service under Foom: after run's own help, not in the list of commands.
        var runHelp = await Run(TimeSpan.FromMinutes(5), work, foom, "run", "--help");
        Assert.Contains("ENTRYPOINT [\"foom\", \"run\"", runHelp.Output);
        Assert.Contains("Delegate=yes", runHelp.Output);
        Assert.DoesNotContain("Delegate=yes", (await Run(TimeSpan.FromMinutes(5), work, foom, "--help")).Output);
    }

    private sealed record Result(string Output, string Error);

    private static async Task<Result> Run(TimeSpan limit, string directory, string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("FOOM_SERVER");
        start.Environment.Remove("FOOM_INGEST_KEY");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} could not be started");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(limit);
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {limit.TotalMinutes} minutes");
        }
        var result = new Result(await output, await error);
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)}: exit {process.ExitCode}\n--- stdout\n{result.Output}\n--- stderr\n{result.Error}");
        return result;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
