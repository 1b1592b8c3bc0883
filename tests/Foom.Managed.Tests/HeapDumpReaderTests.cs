using System.Diagnostics;
using Foom.Managed;
using Foom.Storage.Managed;
using Foom.Testing;

namespace Foom.Managed.Tests;

/// <summary>
/// A real heap dump: samples/ViewModelHoarder run under a 48 MiB GC heap hard limit with the
/// settings `foom run` gives a .NET program, so that its runtime writes a dump as it dies of
/// OutOfMemoryException; made once for the class.
/// </summary>
public sealed class HoarderHeapDump : IAsyncLifetime
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("foom-heap-dump-").FullName;
    public string DumpPath { get; private set; } = "";
    public string Output { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Hoarder.Dll);
        start.ArgumentList.Add("--rate");
        start.ArgumentList.Add("200");
        start.Environment["DOTNET_GCHeapHardLimit"] = "0x3000000";
        var settings = DotnetCrashSettings.For(Directory, new Dictionary<string, string>(), 1L << 30, null, out var leftAlone, out var noDump);
        Assert.Null(leftAlone);
        Assert.Null(noDump);
        foreach (var (name, value) in settings) start.Environment[name] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        Output = $"exit {process.ExitCode}\n{await stdout}\n{await stderr}";
        DumpPath = HeapDumpReader.Find(Directory) ?? throw new InvalidOperationException("the runtime wrote no dump:\n" + Output);
    }

    public ValueTask DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>ClrMD over the dump a .NET runtime writes as it dies: types at death, the exception, root paths; a damaged dump is a note, never an exception.</summary>
public sealed class HeapDumpReaderTests(HoarderHeapDump dump) : IClassFixture<HoarderHeapDump>, IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("foom-heap-dump-copy-").FullName;

    [Fact]
    public void TheDumpGivesTheTypesAtDeathTheExceptionAndWhatHoldsTheViewModels()
    {
        var read = HeapDumpReader.Read(dump.DumpPath, 64L << 20);
        Assert.True(read.Problem is null, read.Problem + "\n" + dump.Output);
        var census = Assert.IsType<ManagedCensus>(read.Census);
        Assert.Equal("death", census.Trigger);
        // The hoarder's view models fill the 48 MiB heap: tens of thousands of them, each counted.
        var viewModels = Assert.Single(census.Types, t => t.Name == "ViewModelHoarder.ChatMessageViewModel");
        Assert.True(viewModels.Count > 10_000, $"{viewModels.Count} view models");
        Assert.Equal(census.Bytes, census.Types.Sum(t => t.Bytes));
        Assert.True(census.Bytes > 24L << 20 && census.Bytes <= 48L << 20, $"{census.Bytes} bytes at death under a 48 MiB heap limit");

        var thrown = Assert.IsType<ManagedDumpException>(read.Exception);
        Assert.Equal("System.OutOfMemoryException", thrown.Type);
        Assert.Contains(thrown.Frames, f => f.StartsWith("ViewModelHoarder.", StringComparison.Ordinal));

        // The biggest types have a path from a root; every path ends at an object of its type,
        // and strings are reached through the view models that hold them (not some runtime string).
        Assert.NotEmpty(read.RootPaths);
        foreach (var path in read.RootPaths) Assert.Equal(path.Type, path.Steps[^1].Type);
        var strings = Assert.Single(read.RootPaths, p => p.Type == "System.String");
        Assert.Contains(strings.Steps, s => s.Type == "ViewModelHoarder.ChatMessageViewModel");
        Assert.Contains(strings.Steps, s => s.Via == "Messages");
    }

    [Fact]
    public void ACutDumpOrAFileThatIsNoDumpIsAProblemNamingTheFileNotAnException()
    {
        var cut = Path.Combine(_scratch, "dotnet-crash.1");
        using (var source = File.OpenRead(dump.DumpPath))
        using (var target = File.Create(cut))
        {
            var buffer = new byte[1 << 20];
            for (long left = source.Length / 3; left > 0;)
            {
                var read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                target.Write(buffer, 0, read);
                left -= read;
            }
        }
        var fromCut = HeapDumpReader.Read(cut, null);
        Assert.NotNull(fromCut.Problem);
        Assert.Contains(cut, fromCut.Problem);

        var garbage = Path.Combine(_scratch, "dotnet-crash.2");
        File.WriteAllText(garbage, "not a core file");
        var fromGarbage = HeapDumpReader.Read(garbage, null);
        Assert.Null(fromGarbage.Census);
        Assert.StartsWith($"{garbage} (15 bytes) could not be read", fromGarbage.Problem);
    }

    [Fact]
    public void CollectWritesManagedDumpJsonAndDeletesTheDumpUnlessKept()
    {
        var kept = Path.Combine(_scratch, "kept");
        var deleted = Path.Combine(_scratch, "deleted");
        foreach (var session in new[] { kept, deleted })
        {
            Directory.CreateDirectory(session);
            File.Copy(dump.DumpPath, Path.Combine(session, Path.GetFileName(dump.DumpPath)));
        }
        var keptDump = HeapDumpReader.Collect(kept, null, keepDump: true, noDumpAsked: null);
        Assert.Equal(Path.Combine(kept, Path.GetFileName(dump.DumpPath)), keptDump?.KeptPath);
        Assert.True(File.Exists(keptDump!.KeptPath));

        Assert.NotNull(HeapDumpReader.Collect(deleted, null, keepDump: false, noDumpAsked: null));
        Assert.Null(HeapDumpReader.Find(deleted));
        var written = ManagedFiles.ReadDump(deleted);
        Assert.NotNull(written);
        Assert.Null(written.KeptPath);
        Assert.Contains(written.Census!.Types, t => t.Name == "ViewModelHoarder.ChatMessageViewModel");
    }

    [Fact]
    public void WithoutRoomForADumpOnlyTheCrashReportIsAskedForAndTheSessionSaysWhy()
    {
        var env = new Dictionary<string, string>();
        var roomy = DotnetCrashSettings.For(_scratch, env, 100L << 20, 201L << 20, out _, out var noDump);
        Assert.Null(noDump);
        Assert.Equal("2", roomy["DOTNET_DbgMiniDumpType"]);
        Assert.False(roomy.ContainsKey("DOTNET_EnableCrashReportOnly"));

        var cramped = DotnetCrashSettings.For(_scratch, env, 100L << 20, 199L << 20, out _, out noDump);
        Assert.Equal("1", cramped["DOTNET_EnableCrashReportOnly"]);
        Assert.False(cramped.ContainsKey("DOTNET_DbgMiniDumpType"));
        Assert.Equal("no heap dump was asked for: the session's disk had 199 MiB free, less than twice the memory the program may use (100 MiB); only the crash report was", noDump);

        // The session then says so, once the program is known to be .NET (it wrote its crash report).
        File.WriteAllText(Path.Combine(_scratch, "dotnet-crash.7.crashreport.json"), "{}");
        Assert.Equal(noDump, HeapDumpReader.Collect(_scratch, null, keepDump: false, noDump)?.Problem);
        Assert.Equal(noDump, ManagedFiles.ReadDump(_scratch)?.Problem);

        // A program with its own dump settings keeps them: nothing is added.
        Assert.Empty(DotnetCrashSettings.For(_scratch, new Dictionary<string, string> { ["DOTNET_DbgMiniDumpType"] = "4" }, 1, 0, out var leftAlone, out _));
        Assert.Contains("DOTNET_DbgMiniDumpType=4", leftAlone);
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);
}
