using BenchmarkDotNet.Attributes;
using Foom.Storage.Live;

namespace Foom.Benchmarks;

/// <summary>The 16 bytes a Dictionary-based live table would keep per block.</summary>
public readonly record struct HeapRecord(ulong Size, int Stack, int Category);

/// <summary>
/// Inserts and frees of a realistic mix (<see cref="AllocationTrace"/>: 1,000,000 events over
/// 200,000 long-lived blocks), and lookups of live blocks, in live.foom (its records in the mapped
/// file, found through the writer's hash index), in a
/// Dictionary&lt;ulong, HeapRecord&gt;, and in Matrix's direct table for blocks up to 128 bytes.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 7)]
public class LiveTableBenchmarks
{
    public const int TraceEvents = 1_000_000;
    public const int Lookups = 1_000_000;

    private AllocationTrace _trace = null!;
    private string _directory = null!;
    private LiveAllocations _live = null!;
    private Dictionary<ulong, HeapRecord> _dictionary = null!;
    private MatrixDirectTable _direct = null!;
    private Dictionary<ulong, HeapRecord> _directLarge = null!;
    private ulong[] _lookups = null!;

    [GlobalSetup]
    public void Setup()
    {
        _trace = AllocationTrace.Generate(allocations: TraceEvents / 2);
        _directory = Directory.CreateTempSubdirectory("foom-bench-").FullName;
        _live = LiveAllocations.Create(Path.Combine(_directory, LiveAllocations.FileName));
        _dictionary = new Dictionary<ulong, HeapRecord>();
        _direct = new MatrixDirectTable();
        _directLarge = new Dictionary<ulong, HeapRecord>();
        foreach (var b in _trace.BaseBlocks)
        {
            _live.InsertHeap(b.Address, b.Size, b.Stack);
            _dictionary[b.Address] = new HeapRecord(b.Size, b.Stack, 0);
            if (b.Size <= 128) _direct.Insert(b.Address, b.Size, b.Stack);
            else _directLarge[b.Address] = new HeapRecord(b.Size, b.Stack, 0);
        }
        var random = new Random(7);
        _lookups = Enumerable.Range(0, Lookups).Select(_ => _trace.BaseBlocks[random.Next(_trace.BaseBlocks.Length)].Address).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _live.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = TraceEvents, Baseline = true, Description = "live.foom (hash index): insert+remove")]
    public void LiveTableMix()
    {
        var live = _live;
        foreach (var op in _trace.Ops)
        {
            if (op.IsFree) live.RemoveHeap(op.Address);
            else live.InsertHeap(op.Address, op.Size, op.Stack);
        }
    }

    [Benchmark(OperationsPerInvoke = TraceEvents, Description = "Dictionary<ulong, HeapRecord>: insert+remove")]
    public void DictionaryMix()
    {
        var table = _dictionary;
        foreach (var op in _trace.Ops)
        {
            if (op.IsFree) table.Remove(op.Address);
            else table[op.Address] = new HeapRecord(op.Size, op.Stack, 0);
        }
    }

    [Benchmark(OperationsPerInvoke = TraceEvents, Description = "Matrix direct table (<=128 B) + Dictionary: insert+remove")]
    public void DirectTableMix()
    {
        var direct = _direct;
        var large = _directLarge;
        foreach (var op in _trace.Ops)
        {
            if (op.Size <= 128)
            {
                if (op.IsFree) direct.Remove(op.Address);
                else direct.Insert(op.Address, op.Size, op.Stack);
            }
            else if (op.IsFree) large.Remove(op.Address);
            else large[op.Address] = new HeapRecord(op.Size, op.Stack, 0);
        }
    }

    [Benchmark(OperationsPerInvoke = Lookups, Description = "live.foom (hash index): lookup")]
    public long LiveTableLookup()
    {
        long found = 0;
        foreach (var address in _lookups)
            if (_live.TryGetHeap(address, out var a)) found += (long)a.Size;
        return found;
    }

    [Benchmark(OperationsPerInvoke = Lookups, Description = "Dictionary<ulong, HeapRecord>: lookup")]
    public long DictionaryLookup()
    {
        long found = 0;
        foreach (var address in _lookups)
            if (_dictionary.TryGetValue(address, out var a)) found += (long)a.Size;
        return found;
    }

    [Benchmark(OperationsPerInvoke = Lookups, Description = "Matrix direct table + Dictionary: lookup")]
    public long DirectTableLookup()
    {
        long found = 0;
        foreach (var address in _lookups)
        {
            if (_direct.TryGet(address, out var a)) found += a.Size;
            else if (_directLarge.TryGetValue(address, out var b)) found += (long)b.Size;
        }
        return found;
    }
}
