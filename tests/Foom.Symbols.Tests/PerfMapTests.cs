using Foom.Symbols.Jit;

namespace Foom.Symbols.Tests;

public class PerfMapTests
{
    private static PerfMap Parse(string text) => PerfMap.Parse(new StringReader(text), "perf-42.map");

    [Fact]
    public void NamesPcsInsideEachRangeAndNothingOutside()
    {
        var map = Parse("""
            7f0000001000 40 [Tier0] void Program::Main(string[])
            0x7f0000002000 0x10 py::compute:/app/main.py
            7F0000003000 8 instance bool [System.Private.CoreLib] System.String::Equals(object)
            """);
        Assert.Equal(3, map.Count);
        Assert.Equal(0, map.MalformedLines);
        Assert.Equal(new PerfMapMatch("[Tier0] void Program::Main(string[])", 0x7f0000001000, 0x40, 0), map.Lookup(0x7f0000001000));
        Assert.Equal(0x3fUL, map.Lookup(0x7f000000103f)!.Value.Offset);
        Assert.Null(map.Lookup(0x7f0000001040));
        Assert.Null(map.Lookup(0x7f0000000fff));
        Assert.Equal("py::compute:/app/main.py", map.Lookup(0x7f000000200f)!.Value.Name);
        Assert.Equal("instance bool [System.Private.CoreLib] System.String::Equals(object)", map.Lookup(0x7f0000003004)!.Value.Name);
    }

    [Fact]
    public void WhereRangesOverlapTheLaterLineWins()
    {
        var map = Parse("""
            1000 100 old_method
            1040 20 new_method_in_reused_memory
            1080 10 inner
            1000 8 newest_at_start
            """);
        Assert.Equal("newest_at_start", map.Lookup(0x1004)!.Value.Name);
        Assert.Equal("old_method", map.Lookup(0x1008)!.Value.Name);
        Assert.Equal(0x8UL, map.Lookup(0x1008)!.Value.Offset);
        Assert.Equal("new_method_in_reused_memory", map.Lookup(0x1050)!.Value.Name);
        Assert.Equal(0x10UL, map.Lookup(0x1050)!.Value.Offset);
        Assert.Equal("old_method", map.Lookup(0x1060)!.Value.Name);
        Assert.Equal("inner", map.Lookup(0x1085)!.Value.Name);
        Assert.Equal("old_method", map.Lookup(0x10ff)!.Value.Name);
        Assert.Null(map.Lookup(0x1100));
    }

    [Fact]
    public void MalformedLinesAreSkippedCountedAndDescribed()
    {
        var map = Parse("""
            1000 10 good_one
            zzzz 10 bad_start
            2000 qq bad_size
            3000 0 zero_size
            4000 10
            justonefield
            ffffffffffffffff 10 overflow

            5000	20	tab_separated
            """);
        Assert.Equal(2, map.Count);
        Assert.Equal(6, map.MalformedLines);
        Assert.Equal("good_one", map.Lookup(0x1005)!.Value.Name);
        Assert.Equal("tab_separated", map.Lookup(0x5010)!.Value.Name);
        Assert.Null(map.Lookup(0x2000));
        Assert.Contains(map.Problems, p => p.StartsWith("perf-42.map line 2:") && p.Contains("not hex"));
        Assert.Contains(map.Problems, p => p.StartsWith("perf-42.map line 4:") && p.Contains("size is 0"));
        Assert.Contains(map.Problems, p => p.StartsWith("perf-42.map line 7:") && p.Contains("overflows"));
    }

    [Fact]
    public void ATornLineOfBinaryGarbageIsNamedInPrintableText()
    {
        // What a runtime left once: a line whose start is bytes, not hex. Its problem is quoted
        // with '?' for what cannot be printed, so the message stays text (and XML for test reports).
        var map = PerfMap.Parse(new StringReader("\u0001\uFFFD\u001bU\u0000m 10 torn\n1000 10 good\n"), "perf-43.map");
        Assert.Equal(1, map.Count);
        var problem = Assert.Single(map.Problems);
        Assert.StartsWith("perf-43.map line 1: start '??", problem);
        Assert.DoesNotContain(problem, c => char.IsControl(c) || c == '\uFFFD');
    }

    [Fact]
    public void BinaryGarbageIsMalformedNotFatal()
    {
        var random = new Random(7);
        var bytes = new byte[64 * 1024];
        random.NextBytes(bytes);
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, bytes);
            var map = PerfMap.Read(path);
            Assert.True(map.MalformedLines > 0);
            Assert.True(map.Problems.Count <= 10);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void AMissingMapIsAnErrorNamingIt()
    {
        var error = Assert.Throws<SymbolFileException>(() => PerfMap.Read("/nonexistent/perf-1.map"));
        Assert.StartsWith("/nonexistent/perf-1.map", error.Message);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public async Task ARealDotnetProcessWritesAMapEveryLineOfWhichIsFound()
    {
        // The test assembly is itself a .NET program: run it once more with perf maps on, listing tests only.
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", $"exec \"{typeof(PerfMapTests).Assembly.Location}\" --list-tests")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_PerfMapEnabled"] = "1";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        await Task.WhenAll(output, errors);
        var mapPath = $"/tmp/perf-{process.Id}.map";
        try
        {
            Assert.True(File.Exists(mapPath), $"dotnet did not write {mapPath}");
            var map = PerfMap.Read(mapPath);
            // The runtime now and then leaves a torn line (CI found two whose start was binary
            // garbage): the reader counts and names them and keeps the rest, so a handful is the
            // runtime's, not ours; more would be a parsing bug.
            Assert.True(map.MalformedLines <= Math.Max(2, map.Count / 100), $"{map.MalformedLines} malformed lines:\n{string.Join('\n', map.Problems)}");
            Assert.True(map.Count > 100, $"only {map.Count} entries");
            var lines = File.ReadAllLines(mapPath);
            Assert.Contains(lines, l => l.Contains("System.", StringComparison.Ordinal));
            // Every entry's own last byte is named by that entry or by a later one that reuses the memory.
            var last = lines.Select(l => l.Split(' ', 3)).Select(p => (Start: Convert.ToUInt64(p[0], 16), Size: Convert.ToUInt64(p[1], 16), Name: p[2])).Last();
            Assert.Equal(last.Name, map.Lookup(last.Start + last.Size - 1)!.Value.Name);
        }
        finally
        {
            File.Delete(mapPath);
            File.Delete($"/tmp/perfinfo-{process.Id}.map");
        }
    }
}
