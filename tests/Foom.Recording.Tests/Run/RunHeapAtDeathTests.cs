using Foom.Recording.Tests.Support;
using Foom.Report.IO;
using Foom.Storage.Managed;
using Foom.Testing;
using ReportDocument = Foom.Report.Model.Report;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// samples/ManagedLeaks under `foom run --limit 200M`, as fast as it can leak, until its runtime's
/// GC heap hard limit (150 MiB) throws OutOfMemoryException: the runtime writes its heap dump
/// into the session, and foom run's report of the death (report.json, made by foom run itself)
/// reads it. The list shape as a user runs it; the strings shape with --keep-dump.
/// </summary>
public abstract class LeakDiesWithAHeapDump : IAsyncLifetime
{
    private readonly FoomCli _foom = new();

    protected abstract string Shape { get; }
    protected virtual string[] Options => [];

    public CliResult Result { get; private set; } = null!;
    public string Session { get; private set; } = "";
    public ReportDocument Report { get; private set; } = null!;
    public CliResult Text { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Result = await _foom.RunAsync(["run", "--app", Shape, "--limit", "200M", .. Options, "--", "dotnet", LeakProgram.Dll, Shape]);
        Session = Assert.Single(_foom.Sessions(Shape));
        var saved = Path.Combine(Session, "report.json");
        Assert.True(File.Exists(saved), Result.Describe());
        Report = ReportReader.Read(saved);
        Text = await _foom.RunAsync("report", Session);
    }

    public ValueTask DisposeAsync()
    {
        _foom.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class OrdersDieWithAHeapDump : LeakDiesWithAHeapDump
{
    protected override string Shape => "list";
}

public sealed class StringsDieWithAKeptHeapDump : LeakDiesWithAHeapDump
{
    protected override string Shape => "strings";
    protected override string[] Options => ["--keep-dump"];
}

/// <summary>The report of an OutOfMemoryException death names the leaking type with its count at the death, the exception, and what holds the leak.</summary>
public sealed class RunHeapAtDeathTests(OrdersDieWithAHeapDump orders, StringsDieWithAKeptHeapDump strings)
    : IClassFixture<OrdersDieWithAHeapDump>, IClassFixture<StringsDieWithAKeptHeapDump>
{
    [Fact]
    public void TheListLeaksTypeIsCountedAtTheDeathWithTheExceptionAndTheListThatHoldsIt()
    {
        Assert.True(orders.Result.ExitCode == 134, orders.Result.Describe());
        var managed = orders.Report.Head.Managed;
        Assert.NotNull(managed);
        var atDeath = managed.HeapAtDeath;
        Assert.True(atDeath is not null, "no heap_at_death\n" + orders.Result.Describe());
        Assert.True(atDeath.Problem is null, atDeath.Problem);
        Assert.Equal("death", managed.Census?.Trigger);
        // The top managed item is the leak: some 3 million 48-byte orders fill the 150 MiB heap.
        var top = orders.Report.Items.First(i => i.IsManaged);
        Assert.Equal("ManagedLeaks.Order", top.Name);
        Assert.True(top.Count > 1_000_000, $"{top.Count} orders");

        Assert.Equal("System.OutOfMemoryException", atDeath.Exception?.Type);
        Assert.Contains("ManagedLeaks.OrderBook.AddOrder(Int64)", atDeath.Exception!.Frames);

        // What holds them: the order book's _orders list, a local of Main (the outermost frame
        // that holds it, not the List method resizing it when the program died).
        var path = Assert.Single(atDeath.RootPaths, p => p.Type == "ManagedLeaks.Order");
        Assert.Equal(["ManagedLeaks.OrderBook", "System.Collections.Generic.List<ManagedLeaks.Order>", "ManagedLeaks.Order[]", "ManagedLeaks.Order"], path.Steps.Select(s => s.Type));
        Assert.Equal([null, "_orders", "_items", "[]"], path.Steps.Select(s => s.Via));
        Assert.Equal("stack", path.RootKind);
        Assert.StartsWith("a local of ManagedLeaks.Program.Main(", path.Root);

        // Read, then deleted: only the crash report stays.
        Assert.Null(atDeath.KeptPath);
        Assert.DoesNotContain(Directory.EnumerateFiles(orders.Session, "dotnet-crash.*"), f => !f.EndsWith(".crashreport.json", StringComparison.Ordinal));
        Assert.True(atDeath.DumpBytes > 150L << 20, $"{atDeath.DumpBytes} bytes of dump");
        // The text report shows it as a user sees it.
        Assert.Contains("from the runtime's heap dump", orders.Text.Output);
        Assert.Contains("held by", orders.Text.Output);
        Assert.Contains("ManagedLeaks.Order ← [] of ManagedLeaks.Order[] ← _items of System.Collections.Generic.List<ManagedLeaks.Order> ← _orders of", orders.Text.Output);
    }

    [Fact]
    public void TheStringCacheIsFoundThroughItsDictionaryAndTheKeptDumpStays()
    {
        Assert.True(strings.Result.ExitCode == 134, strings.Result.Describe());
        var atDeath = strings.Report.Head.Managed?.HeapAtDeath;
        Assert.True(atDeath is not null, "no heap_at_death\n" + strings.Result.Describe());
        Assert.True(atDeath.Problem is null, atDeath.Problem);
        var top = strings.Report.Items.First(i => i.IsManaged);
        Assert.Equal("System.String", top.Name);
        Assert.True(top.Count > 100_000, $"{top.Count} strings");
        var path = Assert.Single(atDeath.RootPaths, p => p.Type == "System.String");
        // The cache's dictionary, by the field that holds it.
        Assert.Contains(path.Steps, s => s.Type == "System.Collections.Generic.Dictionary<System.String, System.String>" && s.Via == "_responses");
        Assert.Equal("System.String", path.Steps[^1].Type);
        Assert.StartsWith("[]", path.Steps[^1].Via);
        Assert.NotNull(atDeath.KeptPath);
        Assert.True(new FileInfo(atDeath.KeptPath).Length == atDeath.DumpBytes, atDeath.KeptPath);
        Assert.NotNull(ManagedFiles.ReadDump(strings.Session)?.Census);
    }
}
