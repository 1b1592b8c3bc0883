using System.Text.Json;
using Foom.Recording.Tests.Support;
using Foom.Report.Building;
using Foom.Storage.Managed;
using ReportDocument = Foom.Report.Model.Report;

using Foom.Testing;

using Foom.Recorder.Recording;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// samples/ManagedLeaks's list shape (small orders kept in a List, 30 MB/s: it dies in some 5 s,
/// after the recorder has reached its diagnostics port even on a loaded machine; one that dies
/// sooner has only the crash report's evidence, docs/benchmarks.md) under
/// `foom run --limit 200M`: the runtime's GC heap hard limit (75 % of the cgroup's limit) throws
/// OutOfMemoryException before the kernel would kill it, and the runtime aborts (exit 134).
/// </summary>
public sealed class OrdersDieOfOutOfMemory : IAsyncLifetime
{
    public const long LimitBytes = 200L << 20;
    private readonly FoomCli _foom = new();

    public CliResult Result { get; private set; } = null!;
    public string Session { get; private set; } = "";
    public ReportDocument Report { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Result = await _foom.RunAsync("run", "--app", "orders", "--limit", "200M", "--", "dotnet", LeakProgram.Dll, "list", "--rate", "30");
        Session = Assert.Single(_foom.Sessions("orders"));
        Report = SessionReport.Build(Session);
    }

    public ValueTask DisposeAsync()
    {
        _foom.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A .NET program that dies of OutOfMemoryException is a memory death, with the exception, its stack and the heap limit as evidence.</summary>
public sealed class RunDotnetOutOfMemoryTests(OrdersDieOfOutOfMemory run) : IClassFixture<OrdersDieOfOutOfMemory>
{
    [Fact]
    public void AnOutOfMemoryExceptionDeathIsAForegroundOomWithTheDotnetMechanismNotACrash()
    {
        Assert.True(run.Result.ExitCode == 134, run.Result.Describe());
        var head = run.Report.Head;
        var evidence = string.Join("\n", head.ExitEvidence);
        Assert.True(head.ExitReason == "foreground_oom", $"{head.ExitReason}: {evidence}\n{run.Result.Describe()}");
        Assert.Equal("dotnet_out_of_memory", head.ExitMechanism);
        Assert.Equal("killed by SIGABRT (6)", head.ExitEvidence[0].Split(',')[0]);
        // The runtime's crash report names the exception and the throwing thread's managed stack.
        Assert.Contains("unhandled System.OutOfMemoryException", evidence);
        Assert.Contains("ManagedLeaks.OrderBook.AddOrder", evidence);
        // The limit in force: 75 % of the 200 MiB cgroup, and where that came from.
        Assert.Contains("GC heap hard limit 150.0 MiB: the runtime's default in a memory cgroup: 75 % of the cgroup's limit", evidence);
        Assert.Contains("GC heap ", evidence);
    }

    [Fact]
    public void TheDeathIsReportedAndManagedJsonHasTheHardLimit()
    {
        // A foreground_oom gets its report at the death, as a kernel kill does.
        Assert.True(File.Exists(Path.Combine(run.Session, "report.json")), run.Result.Describe());
        var status = ManagedFiles.ReadStatus(run.Session);
        Assert.NotNull(status);
        Assert.True(status.GcHeapHardLimitBytes == 150L << 20, JsonSerializer.Serialize(status));
        // The port's event of a fatal OutOfMemoryException is not asserted: the runtime aborts
        // without flushing its EventPipe buffers, so it arrives in some runs and not in others
        // (the crash report is what the verdict rests on).
    }
}
