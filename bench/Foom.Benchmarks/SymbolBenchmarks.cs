using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using Foom.Symbols;
using Foom.Symbols.Elf;

namespace Foom.Benchmarks;

/// <summary>
/// Symbolizing one report: a few thousand distinct frames over a handful of modules. Measures
/// reading a large library's symbol table once, looking frames up by binary search (against the
/// linear scan it replaces), and whole reports through <see cref="Symbolizer"/>, cold (new
/// symbolizer: symbol tables read, llvm-symbolizer run) and warm (the next report of the same
/// builds, everything cached).
/// </summary>
[MemoryDiagnoser]
public class SymbolBenchmarks
{
    private const int Frames = 3000;
    private string _bigLibrary = "";
    private string _debugBinary = "";
    private SymbolTable _table = SymbolTable.Empty;
    private (ulong Start, ulong Size)[] _linear = [];
    private ulong[] _addresses = [];
    private SymbolizeRequest _request = new();
    private Symbolizer _warm = new();

    [GlobalSetup]
    public void Setup()
    {
        // The largest common library here (libLLVM from Debian's llvm package), else libstdc++.
        _bigLibrary = new[] { "/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6" }.First(File.Exists);
        using (var elf = ElfFile.Open(_bigLibrary)) _table = elf.ReadFunctionSymbols();
        _linear = _table.Symbols().Select(s => (s.Start, s.Size)).ToArray();
        var random = new Random(1);
        _addresses = Enumerable.Range(0, Frames).Select(_ => { var s = _linear[random.Next(_linear.Length)]; return s.Start + (ulong)random.NextInt64(0, (long)Math.Max(1, s.Size)); }).ToArray();

        _debugBinary = CompileManyFunctions(500);
        var libc = new[] { "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6" }.First(File.Exists);
        var modules = new[] { _bigLibrary, libc, _debugBinary };
        var frames = new List<FrameRef>();
        for (var m = 0; m < modules.Length; m++)
        {
            using var elf = ElfFile.Open(modules[m]);
            var symbols = elf.ReadFunctionSymbols().Symbols().Where(s => s.Size > 1).ToArray();
            var count = m == 2 ? 1000 : 1000;
            for (var i = 0; i < count; i++)
            {
                var s = symbols[random.Next(symbols.Length)];
                frames.Add(new FrameRef(m, s.Start + 1 + (ulong)random.NextInt64(0, (long)s.Size - 1), IsReturnAddress: true));
            }
        }
        _request = new SymbolizeRequest
        {
            Modules = modules.Select(p => new ModuleInfo(p, ElfFile.ReadBuildId(p))).ToArray(),
            Frames = frames.Distinct().ToArray(),
        };
        _warm = new Symbolizer();
        _warm.Symbolize(_request);
    }

    [Benchmark(Description = "read libLLVM's symbol table (open, .dynsym, sort)")]
    public int ReadBigSymbolTable()
    {
        using var elf = ElfFile.Open(_bigLibrary);
        return elf.ReadFunctionSymbols().Count;
    }

    [Benchmark(Description = "3000 lookups, binary search over the sorted table")]
    public int LookupBinarySearch()
    {
        var named = 0;
        foreach (var address in _addresses) if (_table.Lookup(address) is not null) named++;
        return named;
    }

    [Benchmark(Description = "3000 lookups, linear scan (the baseline)")]
    public int LookupLinearScan()
    {
        var named = 0;
        foreach (var address in _addresses)
        {
            foreach (var (start, size) in _linear)
            {
                if (address >= start && address - start < size) { named++; break; }
            }
        }
        return named;
    }

    [Benchmark(Description = "report of 3000 frames, cold (new Symbolizer)")]
    public int SymbolizeReportCold() => new Symbolizer().Symbolize(_request).Frames.Count(f => f.Function != null);

    [Benchmark(Description = "report of 3000 frames, warm (same builds again)")]
    public int SymbolizeReportWarm() => _warm.Symbolize(_request).Frames.Count(f => f.Function != null);

    private static string CompileManyFunctions(int count)
    {
        var folder = Path.Combine(Path.GetTempPath(), "foom-bench-symbols");
        Directory.CreateDirectory(folder);
        var source = Path.Combine(folder, "many.c");
        var text = new StringBuilder("volatile int sink;\n");
        for (var i = 0; i < count; i++) text.Append($"__attribute__((noinline)) int function_{i}(int x) {{\n  sink = x;\n  return x * {i + 3} + sink;\n}}\n");
        text.Append("int main(int c, char **v) { (void)v; return function_0(c); }\n");
        File.WriteAllText(source, text.ToString());
        var output = Path.Combine(folder, "many");
        using var gcc = Process.Start("gcc", $"-O1 -g -o \"{output}\" \"{source}\"");
        gcc.WaitForExit();
        if (gcc.ExitCode != 0) throw new InvalidOperationException("gcc failed");
        return output;
    }
}
