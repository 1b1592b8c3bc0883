using BenchmarkDotNet.Attributes;
using Foom.Storage.Live;

namespace Foom.Benchmarks;

/// <summary>
/// The recorder's per-event cost on a large live set, as jq's run makes it (docs/benchmarks.md,
/// "the recorder's per-event cost"): 1.6 M small blocks allocated and kept, with a short-lived
/// block freed and reused between every few, then all of them freed in allocation order; 3,656,892
/// events, the heap index and live.foom grown to their size before the measured replays (the
/// stream leaves the table empty, so each replay starts alike). Applied in order as the drain
/// did, and with the drain's look-ahead (<c>HeapLookahead</c>): each event's index bucket
/// prefetched 16 events ahead and its record 8 ahead.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class LargeLiveSetBenchmarks
{
    public const int LongLived = 1_600_000;
    /// <summary>The stream's length (seed 18), checked at setup: the per-event figures divide by it.</summary>
    public const int Events = 3_656_892;
    private const int IndexDistance = 16;
    private const int RecordDistance = 8;

    private TraceOp[] _ops = null!;
    private string _directory = null!;
    private LiveAllocations _live = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ops = JqLikeStream(LongLived);
        if (_ops.Length != Events) throw new InvalidOperationException($"the stream has {_ops.Length} events, not {Events}");
        _directory = Directory.CreateTempSubdirectory("foom-bench-").FullName;
        _live = LiveAllocations.Create(Path.Combine(_directory, LiveAllocations.FileName));
        InOrder();
        if (_live.Count != 0) throw new InvalidOperationException($"the stream left {_live.Count} blocks live");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _live.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>
    /// Bump-allocated addresses (sizes as <see cref="AllocationTrace"/>'s, mostly 16–64 B), every
    /// allocation kept but one in eight, which is freed two events later and its address reused
    /// (malloc's LIFO caches); then every kept block freed, oldest first.
    /// </summary>
    private static TraceOp[] JqLikeStream(int longLived)
    {
        var random = new Random(18);
        var ops = new List<TraceOp>(longLived * 2 + longLived / 3);
        var kept = new List<TraceOp>(longLived);
        var bump = AllocationTrace.TraceRegion;
        var reusable = new Stack<(ulong Address, uint Size)>();
        while (kept.Count < longLived)
        {
            var roll = random.Next(100);
            var size = (uint)((roll < 70 ? random.Next(16, 65) : roll < 95 ? random.Next(65, 257) : random.Next(257, 2049)) + 15) & ~15u;
            var address = bump;
            if (reusable.TryPeek(out var free) && free.Size >= size) address = reusable.Pop().Address;
            else bump += size + 16;
            var block = new TraceOp(address, size, random.Next(1, 522), false);
            ops.Add(block);
            if (random.Next(8) == 0)
            {
                ops.Add(block with { IsFree = true });
                reusable.Push((address, size));
            }
            else kept.Add(block);
        }
        foreach (var block in kept) ops.Add(block with { IsFree = true });
        return ops.ToArray();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events, Description = "live.foom, 1.6 M live: events in order")]
    public void InOrder()
    {
        var live = _live;
        foreach (var op in _ops)
        {
            if (op.IsFree) live.RemoveHeap(op.Address);
            else live.InsertHeap(op.Address, op.Size, op.Stack);
        }
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "live.foom, 1.6 M live: with the drain's look-ahead")]
    public void WithLookahead()
    {
        var live = _live;
        var ops = _ops;
        for (var i = 0; i < ops.Length; i++)
        {
            if (i + IndexDistance < ops.Length) live.PrefetchHeapIndex(ops[i + IndexDistance].Address);
            if (i + RecordDistance < ops.Length) live.PrefetchHeapRecord(ops[i + RecordDistance].Address);
            var op = ops[i];
            if (op.IsFree) live.RemoveHeap(op.Address);
            else live.InsertHeap(op.Address, op.Size, op.Stack);
        }
    }
}
