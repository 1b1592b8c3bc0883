using Foom.Storage.Live;
using Foom.Storage.Stacks;

namespace Foom.Benchmarks;

/// <summary>The space figures of docs/benchmarks.md, measured on the benchmarks' own data.</summary>
public static class SpaceReport
{
    public static void Print()
    {
        var directory = Directory.CreateTempSubdirectory("foom-sizes-").FullName;
        try
        {
            LiveTables(directory);
            Stacks(directory, "Python stacks (heaptrack, CPython)", StackData.Python());
            Stacks(directory, "synthetic stacks, depth 20-60", StackData.Synthetic(StackTableBenchmarks.SyntheticStacks));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void LiveTables(string directory)
    {
        var trace = AllocationTrace.Generate(allocations: LiveTableBenchmarks.TraceEvents / 2);
        // The state at the trace's midpoint: the base blocks plus the trace's blocks live then.
        var ops = trace.Ops.AsSpan(0, trace.Ops.Length / 2);

        long peak = 0;
        using var table = LiveAllocations.Create(Path.Combine(directory, LiveAllocations.FileName));
        foreach (var b in trace.BaseBlocks) table.InsertHeap(b.Address, b.Size, b.Stack);
        foreach (var op in ops)
        {
            if (op.IsFree) table.RemoveHeap(op.Address);
            else table.InsertHeap(op.Address, op.Size, op.Stack);
            peak = Math.Max(peak, table.Count);
        }
        var live = table.Count;

        var before = GC.GetTotalMemory(true);
        var dictionary = new Dictionary<ulong, HeapRecord>();
        foreach (var b in trace.BaseBlocks) dictionary[b.Address] = new HeapRecord(b.Size, b.Stack, 0);
        foreach (var op in ops)
        {
            if (op.IsFree) dictionary.Remove(op.Address);
            else dictionary[op.Address] = new HeapRecord(op.Size, op.Stack, 0);
        }
        var dictionaryBytes = GC.GetTotalMemory(true) - before;
        GC.KeepAlive(dictionary);

        var direct = new MatrixDirectTable();
        foreach (var b in trace.BaseBlocks.Where(b => b.Size <= 128)) direct.Insert(b.Address, b.Size, b.Stack);
        foreach (var op in ops)
        {
            if (op.Size > 128) continue;
            if (op.IsFree) direct.Remove(op.Address);
            else direct.Insert(op.Address, op.Size, op.Stack);
        }

        Console.WriteLine($"## Live allocations: {live:N0} live blocks (peak {peak:N0}) after {ops.Length:N0} events of the benchmark trace");
        Console.WriteLine();
        Console.WriteLine("| table | bytes per live allocation |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| live.foom (24-byte nodes; file incl. free slots and header) | {(double)table.FileBytesUsed / live:F1} |");
        Console.WriteLine($"| live.foom writer's heap index (in memory, not on disk; {table.HeapIndexBytes / 8:N0} entries of 8 B) | {(double)table.HeapIndexBytes / live:F1} |");
        Console.WriteLine($"| Dictionary<ulong, HeapRecord> (managed heap) | {(double)dictionaryBytes / live:F1} |");
        Console.WriteLine($"| Matrix direct table, blocks <= 128 B only ({direct.Count:N0} of them; {direct.LeafCount} leaves of 64 KiB) | {(double)direct.Bytes / direct.Count:F1} |");
        Console.WriteLine();
    }

    private static void Stacks(string directory, string name, Frame[][] stacks)
    {
        var path = Path.Combine(directory, "stacks-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        using var table = StackTable.Create(path);
        foreach (var s in stacks) table.Intern(s);
        var frames = stacks.Sum(s => (long)s.Length);

        var before = GC.GetTotalMemory(true);
        var naive = new NaiveStackStore();
        foreach (var s in stacks) naive.Intern(s);
        var naiveBytes = GC.GetTotalMemory(true) - before;
        GC.KeepAlive(naive);

        var nodes = table.NodeCount - 1;
        Console.WriteLine($"## Stacks: {name}: {stacks.Length:N0} distinct stacks, {frames:N0} frames, mean depth {(double)frames / stacks.Length:F1}");
        Console.WriteLine();
        Console.WriteLine("| figure | value |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| stack nodes | {nodes:N0} |");
        Console.WriteLine($"| new nodes per new stack | {(double)nodes / stacks.Length:F2} |");
        Console.WriteLine($"| distinct frames | {table.FrameCount - 1:N0} |");
        Console.WriteLine("| bytes per stack node in stacks.foom | 8 |");
        Console.WriteLine($"| file bytes per stack (stacks.foom + frames.foom, headers included) | {(double)table.FileBytesUsed / stacks.Length:F1} |");
        Console.WriteLine($"| writer's index memory per stack | {(double)table.IndexBytes / stacks.Length:F1} |");
        Console.WriteLine($"| naive store (Frame[] per stack + Dictionary), bytes per stack | {(double)naiveBytes / stacks.Length:F1} |");
        Console.WriteLine();
    }
}
