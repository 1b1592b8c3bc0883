using BenchmarkDotNet.Attributes;
using Foom.Storage.Stacks;

namespace Foom.Benchmarks;

/// <summary>
/// Interning stacks in the stack table (stacks.foom + frames.foom) and in a naive store of one
/// array per stack: stacks seen before (the lookup the recorder does per allocation event when
/// its own raw-pc cache misses), and new stacks.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 7)]
public class StackTableBenchmarks
{
    public const int SyntheticStacks = 20_000;

    private Frame[][] _python = null!;
    private Frame[][] _synthetic = null!;
    private string _directory = null!;
    private StackTable _known = null!;
    private NaiveStackStore _naiveKnown = null!;
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        _python = StackData.Python();
        _synthetic = StackData.Synthetic(SyntheticStacks);
        _directory = Directory.CreateTempSubdirectory("foom-bench-").FullName;
        var known = Path.Combine(_directory, "known");
        Directory.CreateDirectory(known);
        _known = StackTable.Create(known);
        _naiveKnown = new NaiveStackStore();
        foreach (var s in _python.Concat(_synthetic))
        {
            _known.Intern(s);
            _naiveKnown.Intern(s);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _known.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = 1760, Description = "stack table: seen before, Python stacks")]
    public int KnownPython() => InternAll(_known, _python);

    [Benchmark(OperationsPerInvoke = 1760, Description = "naive store: seen before, Python stacks")]
    public int NaiveKnownPython() => InternAll(_naiveKnown, _python);

    [Benchmark(OperationsPerInvoke = SyntheticStacks, Description = "stack table: seen before, synthetic depth 20-60")]
    public int KnownSynthetic() => InternAll(_known, _synthetic);

    [Benchmark(OperationsPerInvoke = SyntheticStacks, Description = "naive store: seen before, synthetic depth 20-60")]
    public int NaiveKnownSynthetic() => InternAll(_naiveKnown, _synthetic);

    /// <summary>A fresh table per invocation (its files' creation included), every stack new.</summary>
    [Benchmark(OperationsPerInvoke = SyntheticStacks, Description = "stack table: new stacks, synthetic depth 20-60")]
    public int NewSynthetic()
    {
        var directory = Path.Combine(_directory, "new-" + _round++);
        Directory.CreateDirectory(directory);
        int sum;
        using (var table = StackTable.Create(directory)) sum = InternAll(table, _synthetic);
        Directory.Delete(directory, recursive: true);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = SyntheticStacks, Description = "naive store: new stacks, synthetic depth 20-60")]
    public int NaiveNewSynthetic() => InternAll(new NaiveStackStore(), _synthetic);

    private static int InternAll(StackTable table, Frame[][] stacks)
    {
        var sum = 0;
        foreach (var s in stacks) sum += table.Intern(s);
        return sum;
    }

    private static int InternAll(NaiveStackStore store, Frame[][] stacks)
    {
        var sum = 0;
        foreach (var s in stacks) sum += store.Intern(s);
        return sum;
    }
}
