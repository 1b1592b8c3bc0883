using System.Diagnostics;
using System.Text.Json;
using Foom.Testing;
using Foom.Recorder.Recording;
using Foom.Storage.Managed;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// samples/ViewModelHoarder built for .NET 8, self-contained (the runtime pack comes from NuGet,
/// like any package), once per test run: a runtime older than the machine's, without .NET 10's
/// allocation sampling and event filters, whose version no shared-framework folder tells.
/// </summary>
public sealed class HoarderOnDotnet8 : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("foom-hoarder-net8-").FullName;

    public string Executable => Path.Combine(_folder, "bin", "ViewModelHoarder");

    public async ValueTask InitializeAsync()
    {
        var repository = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repository, "Foom.slnx")))
            repository = Path.GetDirectoryName(repository.TrimEnd('/')) ?? throw new InvalidOperationException($"no Foom.slnx above {AppContext.BaseDirectory}");
        // Built from a copy outside the repository, so the solution's settings (net10.0, its obj/)
        // stay out of it and the solution's own build of the sample is left alone.
        var source = Path.Combine(_folder, "src");
        Directory.CreateDirectory(source);
        foreach (var file in new[] { "Program.cs", "ViewModelHoarder.csproj" })
            File.Copy(Path.Combine(repository, "samples", "ViewModelHoarder", file), Path.Combine(source, file));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _folder };
        foreach (var argument in new[]
                 {
                     "build", Path.Combine(source, "ViewModelHoarder.csproj"), "-c", "Release", "-p:TargetFrameworks=net8.0",
                     "-p:RuntimeIdentifier=linux-x64", "-p:SelfContained=true", "-p:ImplicitUsings=enable", "-p:Nullable=enable",
                     "-p:CheckEolTargetFramework=false", "-o", Path.Combine(_folder, "bin"),
                 })
            start.ArgumentList.Add(argument);
        using var build = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started");
        var output = build.StandardOutput.ReadToEndAsync();
        var errors = build.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await build.WaitForExitAsync(timeout.Token);
        if (build.ExitCode != 0 || !File.Exists(Executable))
            throw new InvalidOperationException($"building ViewModelHoarder for .NET 8 (self-contained, the runtime pack from NuGet) failed:\n{await output}\n{await errors}");
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>An older .NET runtime under `foom run`: counted all the same, its allocations sampled by AllocationTick.</summary>
public sealed class RunOlderRuntimeTests(HoarderOnDotnet8 hoarder) : IClassFixture<HoarderOnDotnet8>
{
    [Fact]
    public async Task ADotnet8ProgramIsRecordedNativelyAndItsHeapCountedWithAllocationTickStacks()
    {
        using var foom = new FoomCli();
        var result = await foom.RunAsync("run", "--app", "net8", "--limit", "150M", "--", hoarder.Executable, "--rate", "10");
        Assert.True(result.ExitCode == 137, result.Describe());
        var session = Assert.Single(foom.Sessions("net8"));
        var status = ManagedFiles.ReadStatus(session);
        Assert.NotNull(status);
        Assert.StartsWith("8.0.", status.RuntimeVersion);
        Assert.Equal("allocation_tick", status.AllocationSampling);

        var report = SessionReport.Build(session);
        Assert.Equal("foreground_oom", report.Head.ExitReason);
        Assert.True(report.Head.Managed?.Census is not null, JsonSerializer.Serialize(report.Head.Managed));
        var viewModels = report.Items.Single(i => i.IsManaged && i.Name == "ViewModelHoarder.ChatMessageViewModel");
        Assert.True(viewModels.Count >= 10_000, $"{viewModels.Count} view models");
        Assert.StartsWith("ViewModelHoarder.ChatScreen.LoadMessages(", viewModels.Stacks.First().CallerFunction);
        // The hook recorded it as it records any program.
        Assert.True(report.Items.Single(i => !i.IsManaged && i.Name == "Malloc 16.00 KiB").Count > 100);
    }
}
