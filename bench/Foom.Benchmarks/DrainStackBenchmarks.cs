using BenchmarkDotNet.Attributes;
using Foom.Ring;
using Foom.Storage.Stacks;

namespace Foom.Benchmarks;

/// <summary>
/// The drain's stack lookups per allocation event, keyed by the hook's stack hash: the ring
/// consumer finds the raw frames of a stack named by hash alone, then the applier finds the stack
/// id those frames were interned as (and the module epoch of that resolution). The events name
/// the stacks with a skew, as allocation sites do (a few sites make most allocations): 65,536
/// events over CPython's 1,760 real stacks, and over 20,000 synthetic ones whose frames do not
/// fit a loaded machine's cache. "sent in full" is the consumer remembering a stack the hook sent
/// with its frames (a known one: compared, not stored again), then the applier's lookup.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 7)]
public class DrainStackBenchmarks
{
    private const int Events = 1 << 16;

    private ulong[][] _pythonPcs = null!;
    private ulong[] _pythonHashes = null!;
    private int[] _pythonEvents = null!;
    private ulong[] _syntheticHashes = null!;
    private int[] _syntheticEvents = null!;
    private StacksByHash _stacks = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pythonPcs = StackData.Python().Select(Pcs).ToArray();
        var syntheticPcs = StackData.Synthetic(StackTableBenchmarks.SyntheticStacks).Select(Pcs).ToArray();
        _pythonHashes = _pythonPcs.Select(HashOf).ToArray();
        _syntheticHashes = syntheticPcs.Select(HashOf).ToArray();
        _pythonEvents = SkewedEvents(_pythonPcs.Length, seed: 1);
        _syntheticEvents = SkewedEvents(syntheticPcs.Length, seed: 2);
        _stacks = new StacksByHash();
        for (var i = 0; i < _pythonPcs.Length; i++) Remember(_pythonHashes[i], _pythonPcs[i], i + 1);
        for (var i = 0; i < syntheticPcs.Length; i++) Remember(_syntheticHashes[i], syntheticPcs[i], _pythonPcs.Length + i + 1);
    }

    private void Remember(ulong hash, ulong[] pcs, int stackId)
    {
        _stacks.AddFrames(hash, pcs);
        _stacks.SetStackId(hash, stackId, 0);
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "by hash: frames, then stack id (Python stacks)")]
    public long ByHashPython() => ByHash(_pythonHashes, _pythonEvents);

    [Benchmark(OperationsPerInvoke = Events, Description = "by hash: frames, then stack id (20,000 synthetic stacks)")]
    public long ByHashSynthetic() => ByHash(_syntheticHashes, _syntheticEvents);

    [Benchmark(OperationsPerInvoke = Events, Description = "sent in full: remember frames, then stack id (Python stacks)")]
    public long SentInFullPython()
    {
        long sum = 0;
        foreach (var e in _pythonEvents)
        {
            var hash = _pythonHashes[e];
            _stacks.AddFrames(hash, _pythonPcs[e]);
            if (_stacks.TryGetStackId(hash, out var stackId, out var epoch) && epoch == 0) sum += stackId;
        }
        return sum;
    }

    private long ByHash(ulong[] hashes, int[] events)
    {
        long sum = 0;
        foreach (var e in events)
        {
            var hash = hashes[e];
            if (!_stacks.TryGetFrames(hash, out var frames)) continue;
            if (_stacks.TryGetStackId(hash, out var stackId, out var epoch) && epoch == 0) sum += stackId + frames.Length;
        }
        return sum;
    }

    private static ulong[] Pcs(Frame[] frames) => frames.Select(f => f.Packed).ToArray();

    /// <summary>A 64-bit hash over the pcs, never 0 (as the hook's).</summary>
    private static ulong HashOf(ulong[] pcs)
    {
        var hash = 0xcbf29ce484222325ul;
        foreach (var pc in pcs) hash = StackHash.Mix(hash ^ pc);
        return hash == 0 ? 1 : hash;
    }

    /// <summary>Stack indices with a power-law skew: index n·u³ for uniform u, so the first few stacks take most events.</summary>
    private static int[] SkewedEvents(int stacks, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, Events).Select(_ => (int)(stacks * Math.Pow(random.NextDouble(), 3))).ToArray();
    }
}
