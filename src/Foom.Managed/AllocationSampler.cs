using System.Diagnostics.Tracing;
using Foom.Storage.Managed;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Foom.Managed;

/// <summary>
/// Samples a .NET target's managed allocations with their stacks for the whole run, over one
/// EventPipe session: .NET 10's randomized allocation sampling (AllocationSampled: on average one
/// sample per 100 KiB allocated, each object with a chance that grows with its size), or on older
/// runtimes the GC's AllocationTick (one event per ~100 KiB allocated, carrying the type of the
/// allocation that crossed the threshold). Stacks are the runtime's managed stack walk; TraceEvent's
/// live TraceLog names their methods from the runtime's method load events, and the methods that
/// had code before the session began come from a <see cref="MethodRundown"/> taken just before it.
/// Samples are summed by (type, stack) in a
/// bounded table; a copy is taken with <see cref="Snapshot"/>. The session also reports the GC
/// heap's size after each collection, which sizes the census buffer.
/// </summary>
internal sealed class AllocationSampler : IDisposable
{
    public const string SampledMethod = "allocation_sampled";
    public const string TickMethod = "allocation_tick";

    /// <summary>The runtime's mean distance between samples (its default sampling rate).</summary>
    public const double MeanBytesBetweenSamples = 100 * 1024;

    /// <summary>(type, stack) pairs kept; samples beyond count in their type's "unlisted" cell.</summary>
    public const int MaxCells = 20_000;

    public const int MaxFrames = 64;

    /// <summary>The session's buffer in the target; sampling events are sparse, so a small one never fills.</summary>
    private const int BufferMb = 16;

    /// <summary>GC/AllocationTick in the runtime provider (ClrEtwAll.man).</summary>
    private const uint AllocationTickEventId = 10;

    private readonly object _gate = new();
    private readonly EventPipeSession _session;
    private readonly Dictionary<(string Type, int Stack), Cell> _cells = new();
    private readonly Dictionary<int, int[]> _stackFrames = new();
    private readonly Dictionary<ulong, int> _frameIds = new();
    private readonly List<ManagedFrame> _frames = [];
    private long _samples;
    private long _unlisted;
    private long _gcHeapBytes = -1;
    private long _gcHeapTime;
    private readonly BoundedEvents<ManagedExceptionEvent> _outOfMemory = new(10);
    private int _generation;

    private MethodRundown _rundown = MethodRundown.Empty;

    private AllocationSampler(EventPipeSession session, string method)
    {
        _session = session;
        Method = method;
    }

    /// <summary>
    /// The methods that had code before the session began, taken once it runs (so that nothing
    /// compiled in between is missed): frames seen before it arrived are named at the next snapshot.
    /// </summary>
    public MethodRundown Rundown
    {
        set => Volatile.Write(ref _rundown, value);
    }

    public string Method { get; }

    /// <summary>Ends when the target ends (or the session breaks); <see cref="Problem"/> then says why, if it broke.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public string? Problem { get; private set; }

    /// <summary>The GC heap's size after the last collection, when one was seen.</summary>
    public long? GcHeapBytes => Interlocked.Read(ref _gcHeapBytes) is var bytes and >= 0 ? bytes : null;

    /// <summary>When the GC last reported the heap's size (ms since the epoch).</summary>
    public long? GcHeapTime => GcHeapBytes is null ? null : Interlocked.Read(ref _gcHeapTime);

    /// <summary>The OutOfMemoryExceptions seen so far (the first and the latest when there were many) and how many in all.</summary>
    public (List<ManagedExceptionEvent> Kept, long Total) OutOfMemoryExceptions()
    {
        lock (_gate) return (_outOfMemory.ToList(), _outOfMemory.Total);
    }

    public static bool IsOutOfMemory(string? type) => type is "System.OutOfMemoryException" or "System.InsufficientMemoryException";

    /// <summary>Changes whenever a sample is added: the recorder rewrites its file only then.</summary>
    public int Generation => Volatile.Read(ref _generation);

    public static AllocationSampler Start(DiagnosticsClient client, Version? runtime, bool forceAllocationTick = false)
    {
        // A runtime of unknown version gets AllocationTick: every runtime with a diagnostics port has it.
        var sampled = !forceAllocationTick && runtime is not null && runtime >= DotnetProcess.FirstAllocationSampledRuntime;
        // Jit and Loader at Verbose (MethodLoadVerbose) name the methods of the stacks, tier-1
        // recompilations included; GC gives GCHeapStats, and AllocationTick on older runtimes.
        // Where AllocationSampled exists, AllocationTick (a second stack walk per 100 KiB) is
        // filtered out in the runtime.
        // Exception gives each thrown exception with its stack: OutOfMemoryExceptions are kept,
        // caught or not (exceptions are rare enough that their stack walks cost nothing that counts).
        var keywords = ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.Jit | ClrTraceEventParser.Keywords.Loader
                       | ClrTraceEventParser.Keywords.Exception
                       | (sampled ? ClrTraceEventParser.Keywords.AllocationSampling : 0);
        var provider = sampled
            ? new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)keywords, null, new EventPipeProviderEventFilter(false, [AllocationTickEventId]))
            : new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)keywords);
        var session = client.StartEventPipeSession(new EventPipeSessionConfiguration([provider], BufferMb, requestRundown: false, requestStackwalk: true));
        var sampler = new AllocationSampler(session, sampled ? SampledMethod : TickMethod);
        sampler.Completion = Task.Factory.StartNew(sampler.Process, CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return sampler;
    }

    private void Process()
    {
        try
        {
            using var source = TraceLog.CreateFromEventPipeSession(_session, TraceLog.EventPipeRundownConfiguration.None());
            source.Clr.GCHeapStats += data =>
            {
                Interlocked.Exchange(ref _gcHeapTime, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                Interlocked.Exchange(ref _gcHeapBytes, data.TotalHeapSize);
            };
            source.Clr.ExceptionStart += data =>
            {
                if (!IsOutOfMemory(data.ExceptionType)) return;
                lock (_gate)
                {
                    _outOfMemory.Add(new ManagedExceptionEvent
                    {
                        Time = new DateTimeOffset(data.TimeStamp.ToUniversalTime()).ToUnixTimeMilliseconds(),
                        Type = data.ExceptionType,
                        // The runtime's preallocated OutOfMemoryException has no message: the event says "NULL".
                        Message = string.IsNullOrEmpty(data.ExceptionMessage) || data.ExceptionMessage == "NULL" ? null : data.ExceptionMessage,
                        Frames = [.. Frames(data.CallStack()).Select(id => _frames[id].Function ?? $"0x{_frames[id].Address:x}")],
                    });
                    _generation++;
                }
            };
            if (Method == SampledMethod)
            {
                source.Clr.AllocationSampling += data =>
                {
                    // Each object is sampled with probability 1 - e^(-size/mean): weighting it by the
                    // inverse gives unbiased estimates of the bytes and objects allocated.
                    var size = Math.Max(1, data.ObjectSize);
                    var chance = 1 - Math.Exp(-size / MeanBytesBetweenSamples);
                    Add(data, data.TypeName, size / chance, 1 / chance);
                };
            }
            else
            {
                source.Clr.GCAllocationTick += data =>
                {
                    // The bytes allocated since the last tick, charged to the type that crossed it.
                    var amount = (double)data.AllocationAmount64;
                    Add(data, data.TypeName, amount, amount / Math.Max(1, data.ObjectSize));
                };
            }
            source.Process();
        }
        catch (Exception problem) when (problem is IOException or ObjectDisposedException or EndOfStreamException or InvalidOperationException or FormatException or ServerErrorException or ServerNotAvailableException)
        {
            // A stream that ends with the target is the normal end; anything earlier is noted.
            Problem = $"the allocation-sampling session ended: {problem.Message}";
        }
    }

    private void Add(TraceEvent data, string? typeName, double bytes, double count)
    {
        var type = string.IsNullOrEmpty(typeName) ? "(unnamed type)" : typeName;
        var stack = (int)data.CallStackIndex();
        lock (_gate)
        {
            _samples++;
            var key = (type, stack);
            if (!_cells.TryGetValue(key, out var cell))
            {
                if (_cells.Count >= MaxCells)
                {
                    _unlisted++;
                    key = (type, -1);
                    if (!_cells.TryGetValue(key, out cell)) _cells[key] = cell = new Cell();
                }
                else
                {
                    _cells[key] = cell = new Cell();
                    if (stack >= 0 && !_stackFrames.ContainsKey(stack)) _stackFrames[stack] = Frames(data.CallStack());
                }
            }
            cell.Samples++;
            cell.Bytes += bytes;
            cell.Count += count;
            _generation++;
        }
    }

    /// <summary>Names a stack's frames now, while the methods' load events are known, innermost first.</summary>
    private int[] Frames(TraceCallStack? stack)
    {
        var ids = new List<int>();
        for (var frame = stack; frame is not null && ids.Count < MaxFrames; frame = frame.Caller)
        {
            var code = frame.CodeAddress;
            if (!_frameIds.TryGetValue(code.Address, out var id))
            {
                var function = code.FullMethodName;
                var module = code.ModuleFile?.FilePath is { Length: > 0 } path ? path : code.ModuleName is { Length: > 0 } name ? name : null;
                if (string.IsNullOrEmpty(function) && Volatile.Read(ref _rundown).Lookup(code.Address) is { } known)
                {
                    function = known.Name;
                    module = known.Module ?? module;
                }
                _frameIds[code.Address] = id = _frames.Count;
                _frames.Add(new ManagedFrame { Address = code.Address, Function = string.IsNullOrEmpty(function) ? null : function, Module = module });
            }
            ids.Add(id);
        }
        return [.. ids];
    }

    /// <summary>A copy of what was sampled so far, the frames shared by index.</summary>
    public ManagedAllocations Snapshot()
    {
        lock (_gate)
        {
            var rundown = Volatile.Read(ref _rundown);
            foreach (var frame in _frames)
            {
                if (frame.Function is not null || rundown.Lookup(frame.Address) is not { } known) continue;
                frame.Function = known.Name;
                frame.Module = known.Module ?? frame.Module;
            }
            var allocations = new ManagedAllocations { Method = Method, Samples = _samples, SamplesUnlisted = _unlisted };
            var used = new Dictionary<int, int>();
            foreach (var ((type, stack), cell) in _cells.OrderByDescending(pair => pair.Value.Bytes))
            {
                var frames = new List<int>();
                if (stack >= 0 && _stackFrames.TryGetValue(stack, out var ids))
                {
                    foreach (var id in ids)
                    {
                        if (!used.TryGetValue(id, out var index))
                        {
                            used[id] = index = allocations.Frames.Count;
                            allocations.Frames.Add(_frames[id]);
                        }
                        frames.Add(index);
                    }
                }
                allocations.Stacks.Add(new ManagedStack
                {
                    Type = type,
                    Frames = frames,
                    Samples = cell.Samples,
                    Bytes = (long)Math.Round(cell.Bytes),
                    Count = Math.Max(cell.Samples, (long)Math.Round(cell.Count)),
                });
            }
            return allocations;
        }
    }

    /// <summary>Ends the session; the processing thread ends with its stream.</summary>
    public void Dispose() => _session.Dispose();

    private sealed class Cell
    {
        public long Samples;
        public double Bytes;
        public double Count;
    }
}
