using System.Diagnostics;

namespace Foom.Benchmarks;

/// <summary>
/// Operations per second of CPU time (the process's user + system time) for the engine's
/// targets. On the shared machine the wall-clock times BenchmarkDotNet reports are inflated by
/// however many other processes compete for the two cores; CPU time is not, so this is the
/// figure to hold against the targets. Each workload is warmed up, then run for about 2 CPU
/// seconds.
/// </summary>
public static class CpuThroughput
{
    public static void Print()
    {
        var live = new LiveTableBenchmarks();
        live.Setup();
        var stacks = new StackTableBenchmarks();
        stacks.Setup();
        try
        {
            Console.WriteLine("| workload | operations per CPU second |");
            Console.WriteLine("|---|---:|");
            Row("live.foom (hash index): insert+remove, realistic mix", LiveTableBenchmarks.TraceEvents, live.LiveTableMix);
            Row("Dictionary<ulong, HeapRecord>: insert+remove, same mix", LiveTableBenchmarks.TraceEvents, live.DictionaryMix);
            Row("Matrix direct table + Dictionary: insert+remove, same mix", LiveTableBenchmarks.TraceEvents, live.DirectTableMix);
            Row("live.foom (hash index): lookup of random long-lived blocks", LiveTableBenchmarks.Lookups, () => live.LiveTableLookup());
            Row("Dictionary: lookup of random long-lived blocks", LiveTableBenchmarks.Lookups, () => live.DictionaryLookup());
            Row("stack table: stacks seen before, Python (mean depth 36)", 1760, () => stacks.KnownPython());
            Row("naive store: stacks seen before, Python", 1760, () => stacks.NaiveKnownPython());
            Row("stack table: stacks seen before, synthetic (mean depth 52)", StackTableBenchmarks.SyntheticStacks, () => stacks.KnownSynthetic());
            Row("naive store: stacks seen before, synthetic", StackTableBenchmarks.SyntheticStacks, () => stacks.NaiveKnownSynthetic());
            Row("stack table: new stacks, synthetic (fresh table each pass)", StackTableBenchmarks.SyntheticStacks, () => stacks.NewSynthetic());
            Row("naive store: new stacks, synthetic", StackTableBenchmarks.SyntheticStacks, () => stacks.NaiveNewSynthetic());
        }
        finally
        {
            live.Cleanup();
            stacks.Cleanup();
        }
    }

    private static void Row(string name, int operationsPerPass, Action pass)
    {
        for (var i = 0; i < 3; i++) pass();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var start = process.TotalProcessorTime;
        long operations = 0;
        TimeSpan spent;
        do
        {
            pass();
            operations += operationsPerPass;
            process.Refresh();
            spent = process.TotalProcessorTime - start;
        } while (spent < TimeSpan.FromSeconds(2));
        Console.WriteLine($"| {name} | {operations / spent.TotalSeconds / 1e6:F1} M |");
    }
}
