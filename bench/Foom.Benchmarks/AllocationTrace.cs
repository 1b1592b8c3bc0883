namespace Foom.Benchmarks;

/// <summary>One event of an allocation trace.</summary>
public readonly record struct TraceOp(ulong Address, uint Size, int Stack, bool IsFree);

/// <summary>
/// A realistic malloc/free mix, made by simulating an allocator: sizes mostly small (60 % at
/// 16–64 B, 25 % to 256 B, 12 % to 1 KiB, 3 % to 8 KiB, rounded to 16), addresses reused LIFO
/// per size class as malloc's caches reuse them, most blocks short-lived (85 % freed within a
/// few dozen events, 13 % within 10,000, 2 % at the end) over a base of long-lived blocks. The
/// trace frees everything it allocates, so replaying it leaves the table as it found it.
/// </summary>
public sealed class AllocationTrace
{
    public const ulong BaseRegion = 0x5555_0000_0000;
    public const ulong TraceRegion = 0x7f00_0000_0000;

    private AllocationTrace(TraceOp[] baseBlocks, TraceOp[] ops)
    {
        BaseBlocks = baseBlocks;
        Ops = ops;
    }

    /// <summary>Long-lived blocks, live before the trace and after it.</summary>
    public TraceOp[] BaseBlocks { get; }

    public TraceOp[] Ops { get; }

    public static AllocationTrace Generate(int seed = 42, int baseBlocks = 200_000, int allocations = 500_000, int stacks = 5000)
    {
        var random = new Random(seed);
        var bases = new TraceOp[baseBlocks];
        var bump = BaseRegion;
        for (var i = 0; i < baseBlocks; i++)
        {
            var size = Size(random);
            bases[i] = new TraceOp(bump, size, random.Next(1, stacks), false);
            bump += size;
        }

        var ops = new List<TraceOp>(allocations * 2);
        var freeLists = new Dictionary<uint, Stack<ulong>>();
        var due = new PriorityQueue<TraceOp, long>();
        bump = TraceRegion;
        for (long t = 0; t < allocations; t++)
        {
            while (due.TryPeek(out var free, out var at) && at <= t)
            {
                due.Dequeue();
                ops.Add(free);
                if (!freeLists.TryGetValue(free.Size, out var list)) freeLists[free.Size] = list = new Stack<ulong>();
                list.Push(free.Address);
            }
            var size = Size(random);
            ulong address;
            if (freeLists.TryGetValue(size, out var reuse) && reuse.Count > 0) address = reuse.Pop();
            else
            {
                address = bump;
                bump += size;
            }
            var block = new TraceOp(address, size, random.Next(1, stacks), false);
            ops.Add(block);
            var roll = random.Next(100);
            long lifetime = roll < 85 ? 1 + (long)(-Math.Log(1 - random.NextDouble()) * 8)
                : roll < 98 ? random.Next(100, 10_000)
                : allocations;
            due.Enqueue(block with { IsFree = true }, t + lifetime);
        }
        while (due.TryDequeue(out var free, out _)) ops.Add(free);
        return new AllocationTrace(bases, ops.ToArray());
    }

    private static uint Size(Random random)
    {
        var roll = random.Next(100);
        var size = roll < 60 ? random.Next(16, 65) : roll < 85 ? random.Next(65, 257) : roll < 97 ? random.Next(257, 1025) : random.Next(1025, 8193);
        return (uint)((size + 15) & ~15);
    }
}
