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
}
