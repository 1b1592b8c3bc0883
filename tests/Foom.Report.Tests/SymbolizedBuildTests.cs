using System.Diagnostics;
using Foom.Report.Building;
using Foom.Report.Tests.Support;
using Foom.Storage.Stacks;
using Foom.Symbols;
using Foom.Symbols.Elf;

namespace Foom.Report.Tests;

/// <summary>
/// A session whose frames lie in a real binary built here with gcc -g, and in the machine's libc:
/// the report names them (function, file, line) with Foom.Symbols, and the caller skips malloc by name.
/// </summary>
public class SymbolizedBuildTests : IDisposable
{
    private const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    private readonly string _root = Directory.CreateTempSubdirectory("foom-symbolized-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void FramesInRealBinariesGetNamesAndTheCallerIsTheAppFunction()
    {
        var program = Path.Combine(_root, "cache");
        var gcc = Process.Start(new ProcessStartInfo("gcc", ["-g", "-O0", "-fno-omit-frame-pointer", "-o", program, Path.Combine(AppContext.BaseDirectory, "Programs", "cache.c")]) { RedirectStandardError = true })
            ?? throw new InvalidOperationException("gcc did not start: install gcc (.ci/run does)");
        var errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        Assert.True(gcc.ExitCode == 0, $"gcc failed: {errors}");
        Assert.True(File.Exists(Libc), $"{Libc} is missing: this test needs Debian's libc6");

        var programId = ElfFile.ReadBuildId(program) ?? throw new InvalidOperationException("gcc wrote no build-id");
        var libcId = ElfFile.ReadBuildId(Libc) ?? throw new InvalidOperationException("libc has no build-id");
        ulong Start(string path, string name)
        {
            using var elf = ElfFile.Open(path);
            return elf.ReadFunctionSymbols().Symbols().First(s => s.Name == name).Start;
        }

        var directory = Path.Combine(_root, "s-sym");
        var info = TestSessions.Info("s-sym");
        info.MainBinary = program;
        info.MainBuildId = programId;
        using (var tables = Foom.Storage.SessionTables.Create(directory))
        {
            var app = tables.Modules.Load(program, programId, 0x5555_0000_0000, 0x5555_0000_0000, 0x10_000);
            var libc = tables.Modules.Load(Libc, libcId, 0x7f00_0000_0000, 0x7f00_0000_0000, 0x20_0000);
            var stack = tables.Stacks.Intern([
                new Frame(libc, Start(Libc, "malloc") + 4),
                new Frame(app, Start(program, "grow_cache") + 20),
                new Frame(app, Start(program, "load_file") + 20),
                new Frame(app, Start(program, "main") + 20),
            ]);
            tables.Live.InsertHeap(0x1000_0000, 4096, stack);
        }
        TestSessions.WriteInfo(directory, info);

        var report = ReportBuilder.Build(directory, SessionMarks.None, new ReportBuildOptions { Symbolizer = new Symbolizer() });

        var listed = report.Items.Single().Stacks.Single();
        Assert.Contains("malloc", listed.Frames[0].Function);
        Assert.Equal(["grow_cache", "load_file", "main"], listed.Frames.Skip(1).Select(f => f.Function));
        Assert.All(listed.Frames.Skip(1), f =>
        {
            Assert.EndsWith("cache.c", f.File);
            Assert.InRange(f.Line ?? 0, 6, 22);
        });
        Assert.Equal("grow_cache", listed.CallerFunction);
        Assert.Equal($"{programId}@{listed.Frames[1].Offset}", listed.Caller);
        Assert.Equal(programId, report.Head.AppUuid);
    }

    [Fact]
    public void AFrameInAStrippedLibraryThatNoSymbolContainsStaysUnnamedAndTheReportSaysWhyAndHowToNameIt()
    {
        const string Sqlite = "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0";
        Assert.True(File.Exists(Sqlite), $"{Sqlite} is missing: .ci/run installs sqlite3 for this test");
        var sqliteId = ElfFile.ReadBuildId(Sqlite) ?? throw new InvalidOperationException("libsqlite3 has no build-id");
        ulong exported, between;
        using (var elf = ElfFile.Open(Sqlite))
        {
            var symbols = elf.ReadFunctionSymbols().Symbols().Where(s => s.Size > 0).ToList();
            exported = symbols.First(s => s.Name == "sqlite3_malloc").Start + 4;
            // Code past the end of an exported function and before the next: a static function of sqlite's.
            var gap = symbols.Zip(symbols.Skip(1)).First(p => p.Second.Start - (p.First.Start + p.First.Size) > 256);
            between = gap.First.Start + gap.First.Size + 128;
        }

        var directory = Path.Combine(_root, "s-stripped");
        using (var tables = Foom.Storage.SessionTables.Create(directory))
        {
            var sqlite = tables.Modules.Load(Sqlite, sqliteId, 0x7f00_0000_0000, 0x7f00_0000_0000, 0x20_0000);
            var stack = tables.Stacks.Intern([new Frame(sqlite, between), new Frame(sqlite, exported)]);
            tables.Live.InsertHeap(0x1000_0000, 4096, stack);
        }
        TestSessions.WriteInfo(directory, TestSessions.Info("s-stripped"));

        var report = ReportBuilder.Build(directory, SessionMarks.None, new ReportBuildOptions { Symbolizer = new Symbolizer(new SymbolizerOptions { DebugDirectories = [] }) });

        var frames = report.Items.Single().Stacks.Single().Frames;
        Assert.Null(frames[0].Function);
        Assert.Equal("sqlite3_malloc", frames[1].Function);
        var symbolsHead = Assert.IsType<Foom.Report.Model.ReportSymbols>(report.Head.Symbols);
        Assert.Equal(2, symbolsHead.Frames);
        Assert.Equal(1, symbolsHead.UnnamedFrames);
        var module = Assert.Single(symbolsHead.UnnamedByModule);
        Assert.Equal("libsqlite3.so.0", module.Name);
        Assert.Contains("only .dynsym", module.Reason);
        Assert.Contains("-dbgsym", symbolsHead.HowToName);

        var labels = new Foom.Report.Views.FrameLabels(report);
        Assert.Equal($"libsqlite3.so.0+0x{between:x}", labels.Label(frames[0]));
        Assert.Contains(Foom.Report.Views.TextView.Notes(report), n => n.StartsWith("1 of 2 frames have no name", StringComparison.Ordinal) && n.Contains("libsqlite3.so.0: 1"));
        // The report says it in its JSON too.
        var json = System.Text.Encoding.UTF8.GetString(Foom.Report.IO.ReportJson.ToUtf8(report));
        Assert.Contains("\"unnamed_frames\":1", json);
    }
}
