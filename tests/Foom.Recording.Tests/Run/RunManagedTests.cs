using System.Text.Json;
using Foom.Testing;
using Foom.Recorder.Recording;
using Foom.Report.IO;
using Foom.Report.Model;
using Foom.Storage.Managed;
using Foom.Storage.Sessions;
using ReportDocument = Foom.Report.Model.Report;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// One run of samples/ViewModelHoarder under `foom run --limit 200M`, shared by the facts below:
/// the kernel kills it at its limit, and its session and report are read afterwards.
/// </summary>
public sealed class HoarderKilledAtItsLimit : IAsyncLifetime
{
    public const long LimitBytes = 200L << 20;
    private readonly FoomCli _foom = new();

    public CliResult Result { get; private set; } = null!;
    public string Session { get; private set; } = "";
    public ReportDocument Report { get; private set; } = null!;
    /// <summary>The .NET diagnostics sockets in /tmp before the run (killed runtimes leave theirs).</summary>
    public IReadOnlySet<string> SocketsBefore { get; private set; } = new HashSet<string>();

    public async ValueTask InitializeAsync()
    {
        SocketsBefore = Directory.GetFiles("/tmp", "dotnet-diagnostic-*-socket").ToHashSet();
        Result = await _foom.RunAsync("run", "--app", "hoarder", "--limit", "200M", "--", "dotnet", Hoarder.Dll);
        Session = Assert.Single(_foom.Sessions("hoarder"));
        Report = SessionReport.Build(Session);
    }

    public ValueTask DisposeAsync()
    {
        _foom.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A .NET program under `foom run`: its managed heap by type, its managed stacks, and JIT frames in its native stacks.</summary>
public sealed class RunManagedTests(HoarderKilledAtItsLimit run) : IClassFixture<HoarderKilledAtItsLimit>
{
    private const string ViewModel = "ViewModelHoarder.ChatMessageViewModel";

    [Fact]
    public void TheProgramIsKilledAtItsLimitAndTheCensusBeforeTheKillIsInTheSession()
    {
        Assert.True(run.Result.ExitCode == 137, run.Result.Describe());
        Assert.Equal("foreground_oom", run.Report.Head.ExitReason);
        var status = ManagedFiles.ReadStatus(run.Session);
        Assert.NotNull(status);
        Assert.Equal("connected", status.Diagnostics);
        Assert.True(status.CensusesTaken >= 1, JsonSerializer.Serialize(status));
        var census = ManagedFiles.ReadCensus(run.Session);
        Assert.NotNull(census);
        Assert.Equal(0, census.LostEvents);
        Assert.Contains(census.Types, t => t.Name == ViewModel);
    }

    [Fact]
    public void TheReportListsTheHoardedViewModelsByTypeBesideTheNativeCategories()
    {
        var report = run.Report;
        var census = report.Head.Managed?.Census;
        Assert.True(census is not null, JsonSerializer.Serialize(report.Head.Managed));
        // Taken while the program ran, near its limit or at a warning, and the footprint then is said.
        Assert.InRange(census.Time, report.Head.LaunchTime!.Value, report.Head.ReportTime!.Value);
        Assert.True(census.Trigger.StartsWith("warning:", StringComparison.Ordinal) || census.FootprintBytes >= (long)(Foom.Managed.CensusPolicy.NearLimitFraction * HoarderKilledAtItsLimit.LimitBytes),
            $"{census.Trigger} at {census.FootprintBytes} bytes");
        Assert.Equal(HoarderKilledAtItsLimit.LimitBytes, census.LimitBytes);

        var viewModels = Assert.Single(report.Items, i => i.Name == ViewModel);
        Assert.True(viewModels.IsManaged);
        // Every chat keeps 50 messages; the census counts each one object of one size.
        Assert.True(viewModels.Count >= 10_000, $"{viewModels.Count} view models");
        Assert.Equal(0, viewModels.Size % viewModels.Count);
        Assert.InRange(viewModels.Size / viewModels.Count, 24, 128);

        // The managed items add up to the census; the native ones still to live_bytes.
        var managed = report.Items.Where(i => i.IsManaged).ToList();
        Assert.Equal(census.Bytes, managed.Sum(i => i.Size));
        Assert.Equal(census.Count, managed.Sum(i => i.Count));
        Assert.Equal(report.Head.LiveBytes, report.Items.Where(i => !i.IsManaged).Sum(i => i.Size));
        Assert.Contains(report.Items, i => !i.IsManaged && i.Name.StartsWith("Malloc ", StringComparison.Ordinal));

        // The written report passes the reader's checks.
        var path = Path.Combine(run.Session, "report-roundtrip.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, ReportJson.Compact));
        var read = ReportReader.Read(path);
        Assert.Equal(viewModels.Count, read.Items.Single(i => i.Name == ViewModel).Count);
        Assert.Equal(census.Bytes, read.Head.Managed!.Census!.Bytes);
    }

    [Fact]
    public void ManagedCategoriesHaveTheirAllocatingStacksWithMethodNames()
    {
        var report = run.Report;
        Assert.Equal("allocation_sampled", report.Head.Managed!.AllocationSampling);
        Assert.True(report.Head.Managed.AllocationSamples > 100, $"{report.Head.Managed.AllocationSamples} samples");

        var viewModels = report.Items.Single(i => i.Name == ViewModel);
        // One allocation site, named alike whether by the runtime's method events or its perf map.
        var top = Assert.Single(viewModels.Stacks);
        Assert.StartsWith("ViewModelHoarder.ChatScreen.LoadMessages(", top.CallerFunction);
        Assert.Contains(top.Frames, f => f.Function?.StartsWith("ViewModelHoarder.ChatScreen.Open(", StringComparison.Ordinal) == true);
        Assert.True(top.AllocationSamples > 0);
        Assert.InRange(top.Size, 1, viewModels.Size);

        // The message texts: String's constructor is an allocation wrapper, its caller is the point.
        var strings = report.Items.Single(i => i.IsManaged && i.Name == "System.String");
        var textStack = strings.Stacks.First();
        Assert.StartsWith("System.String.Ctor(", textStack.Frames[0].Function);
        Assert.StartsWith("ViewModelHoarder.ChatScreen.LoadMessages(", textStack.CallerFunction);
    }

    [Fact]
    public void TheKilledProgramsDiagnosticsSocketIsRemoved()
    {
        // The runtime removes its socket when it exits, but it was SIGKILLed: Foom, which connected to it, removes it.
        Assert.NotNull(run.Report.Head.Managed?.AllocationSampling);
        var pid = SessionInfoFile.Read(run.Session).Info!.Pid;
        var left = Directory.GetFiles("/tmp", $"dotnet-diagnostic-{pid}-*-socket").Where(s => !run.SocketsBefore.Contains(s));
        Assert.Empty(left);
    }

    [Fact]
    public void JitFramesInNativeStacksAreNamedFromThePerfMap()
    {
        // NativeThumbnails.Decode keeps 16 KiB of NativeMemory per chat: a malloc reached through JIT code.
        var thumbnails = run.Report.Items.Single(i => !i.IsManaged && i.Name == "Malloc 16.00 KiB");
        Assert.True(thumbnails.Count > 100, $"{thumbnails.Count} blocks");
        var names = thumbnails.Stacks.SelectMany(s => s.Frames).Select(f => f.Function ?? "").ToList();
        Assert.Contains(names, n => n.Contains("ViewModelHoarder.NativeThumbnails::Decode", StringComparison.Ordinal));
        Assert.Contains(names, n => n.Contains("ViewModelHoarder.ChatScreen::Open", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithItsDiagnosticsPortDisabledNativeRecordingStillWorksAndTheReportSaysWhyThereIsNoCensus()
    {
        using var foom = new FoomCli();
        var result = await foom.RunAsync("run", "--app", "no-port", "--limit", "150M", "--",
            "env", "DOTNET_EnableDiagnostics=0", "dotnet", Hoarder.Dll, "--rate", "20");
        Assert.True(result.ExitCode == 137, result.Describe());
        Assert.Contains("DOTNET_EnableDiagnostics=0", result.Errors);
        var session = Assert.Single(foom.Sessions("no-port"));
        var report = SessionReport.Build(session);
        Assert.Equal("foreground_oom", report.Head.ExitReason);
        Assert.DoesNotContain(report.Items, i => i.IsManaged);
        var managed = report.Head.Managed;
        Assert.NotNull(managed);
        Assert.Null(managed.Census);
        Assert.Contains("DOTNET_EnableDiagnostics=0", managed.NoCensus);
        Assert.Contains("diagnostics port", managed.NoCensus);
        // The hook recorded the program all the same.
        var thumbnails = report.Items.Single(i => i.Name == "Malloc 16.00 KiB");
        Assert.True(thumbnails.Count > 100, $"{thumbnails.Count} blocks");
    }
}
