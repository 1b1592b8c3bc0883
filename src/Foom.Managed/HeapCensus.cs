using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Runtime.InteropServices;
using Foom.Storage.Managed;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Foom.Managed;

/// <summary>What a census is for: why it was asked, the footprint then, and how much buffer the target may spend on it.</summary>
public sealed record CensusRequest(string Trigger, long FootprintBytes, long? LimitBytes, long BufferBytes);

/// <summary>A census that did not complete: the target died, did not answer, or refused the session.</summary>
public sealed class CensusFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One census of a .NET target's managed heap, the way dotnet-gcdump takes it: an EventPipe
/// session with the runtime's GC heap-dump keywords makes the runtime run a blocking gen2
/// collection and report every live object (GC/BulkNode: address, size, type id) and the names
/// of their types (Type/BulkType) while the program is paused. The objects are summed by type as
/// the events stream in; nothing per object is kept.
///
/// Cost (docs/benchmarks.md): the pause is the collection plus the walk; the walk's events wait in
/// the target's EventPipe buffer until the pause ends (the runtime does not stream them during
/// it), so the target briefly holds about 32 bytes per live object there, bounded by
/// <see cref="CensusRequest.BufferBytes"/>: beyond it the runtime drops events and the census
/// says so (<see cref="ManagedCensus.LostEvents"/>). On .NET 10 and later only the events the
/// census reads are enabled (references between objects, roots and the rest are filtered out in
/// the runtime), which takes the reference events out of that buffer.
/// </summary>
public static class HeapCensus
{
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";

    // Event ids of the runtime provider that a census reads (ClrEtwAll.man): GC/Start, GC/Stop,
    // GC/RestartEEStop, GC/SuspendEEStart, Type/BulkType, GC/BulkNode.
    private static readonly uint[] CensusEventIds = [1, 2, 3, 9, 15, 18];

    /// <summary>
    /// Events that stop arriving for this long, once some have, mean the walk is over and its end
    /// was dropped with a full buffer: the runtime then writes no sequence point that would let
    /// the parser go on, until the session is stopped. (During the pause itself nothing arrives at
    /// all, so a long walk is not mistaken for one.)
    /// </summary>
    private static readonly TimeSpan StreamIdle = TimeSpan.FromSeconds(5);

    /// <param name="typeNames">
    /// Type names by type id, shared by the censuses of one process: the runtime names a type
    /// once per tracing session that asks for names, and a name whose event was dropped (or
    /// that an overlapping session already had) is found here. Type ids are the runtime's method
    /// table addresses, stable while the process lives.
    /// </param>
    public static ManagedCensus Take(DiagnosticsClient client, CensusRequest request, Version? runtime, TimeSpan timeout, Dictionary<ulong, string>? typeNames = null)
    {
        var clock = Stopwatch.StartNew();
        var keywords = (long)ClrTraceEventParser.Keywords.GCHeapSnapshot;
        var bufferMb = (int)Math.Clamp(request.BufferBytes >> 20, 1, 4096);
        // Without stack walks (nothing reads them); a runtime that cannot be asked that (.NET 8
        // refuses the newer command) is asked the older way, stacks and all.
        EventPipeSession Start(EventPipeProvider provider)
        {
            try
            {
                return client.StartEventPipeSession(new EventPipeSessionConfiguration([provider], bufferMb, requestRundown: false, requestStackwalk: false));
            }
            catch (Exception problem) when (provider.EventFilter is null && problem is ServerErrorException or UnsupportedCommandException)
            {
                return client.StartEventPipeSession([provider], requestRundown: false, bufferMb);
            }
        }
        EventPipeSession session;
        try
        {
            // Only the events a census reads, where the runtime can filter (.NET 10); a runtime of
            // unknown version that cannot is asked again without the filter.
            var filtered = runtime is null || runtime >= DotnetProcess.FirstAllocationSampledRuntime;
            try
            {
                session = Start(filtered
                    ? new EventPipeProvider(RuntimeProvider, EventLevel.Verbose, keywords, null, new EventPipeProviderEventFilter(true, CensusEventIds))
                    : new EventPipeProvider(RuntimeProvider, EventLevel.Verbose, keywords));
            }
            catch (Exception problem) when (filtered && runtime is null && problem is ServerErrorException or UnsupportedCommandException)
            {
                session = Start(new EventPipeProvider(RuntimeProvider, EventLevel.Verbose, keywords));
            }
        }
        catch (Exception problem) when (problem is ServerErrorException or ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException)
        {
            throw new CensusFailedException($"the diagnostics port refused the census session: {problem.Message}", problem);
        }

        using var owned = session;
        var counted = new CountingStream(session.EventStream);
        var walk = new WalkState(typeNames ?? new Dictionary<ulong, string>());
        using var source = new EventPipeEventSource(counted);
        var stopping = 0;
        var stopped = Task.CompletedTask;
        void StopSession()
        {
            if (Interlocked.Exchange(ref stopping, 1) != 0) return;
            // Stop asks the runtime over a second connection; the stream then ends after the last buffered events.
            stopped = Task.Run(() =>
            {
                try
                {
                    session.Stop();
                }
                catch (Exception problem) when (problem is ServerErrorException or ServerNotAvailableException or IOException or TimeoutException or ObjectDisposedException)
                {
                    // The target is gone or the session already ended: the stream ends either way.
                }
            });
        }

        source.Clr.GCSuspendEEStart += data => walk.LastSuspend = data.TimeStampRelativeMSec;
        source.Clr.GCStart += data =>
        {
            if (walk.Phase != WalkPhase.WaitingForCollection || data.Depth != 2 || data.Type != GCType.NonConcurrentGC) return;
            walk.Phase = WalkPhase.Walking;
            walk.Collection = data.Count;
            walk.SuspendStart = walk.LastSuspend ?? data.TimeStampRelativeMSec;
            walk.Time = new DateTimeOffset(data.TimeStamp).ToUnixTimeMilliseconds();
        };
        source.Clr.TypeBulkType += data => walk.AddTypes(data);
        source.Clr.GCBulkNode += data =>
        {
            if (walk.Phase == WalkPhase.Walking) walk.AddNodes(data);
        };
        source.Clr.GCStop += data =>
        {
            if (walk.Phase != WalkPhase.Walking || data.Count != walk.Collection) return;
            walk.Phase = WalkPhase.Walked;
            // The restart event, already written by the time the runtime reads the stop, ends the stream.
            StopSession();
        };
        source.Clr.GCRestartEEStop += data =>
        {
            if (walk.Phase == WalkPhase.Walked && walk.PauseEnd is null) walk.PauseEnd = data.TimeStampRelativeMSec;
        };

        // The census ends after the walk's collection; a walk whose end was dropped (its buffer
        // full) ends when its events stop coming; a target that stops answering (dead, or hung)
        // ends it at the timeout.
        long bytesSeen = 0;
        var bytesSeenAt = TimeSpan.Zero;
        var forced = false;
        using var watch = new Timer(_ =>
        {
            var bytes = counted.BytesRead;
            if (bytes != bytesSeen)
            {
                bytesSeen = bytes;
                bytesSeenAt = clock.Elapsed;
            }
            if (bytes > 0 && walk.Phase != WalkPhase.Walked && clock.Elapsed - bytesSeenAt >= StreamIdle)
            {
                walk.EndLost = true;
                StopSession();
            }
            if (clock.Elapsed >= timeout && !forced)
            {
                forced = true;
                walk.TimedOut = walk.Phase != WalkPhase.Walked;
                StopSession();
                // A target that does not answer Stop either: close the stream under the parser.
                Task.Delay(TimeSpan.FromSeconds(5)).ContinueWith(_ => session.Dispose(), TaskScheduler.Default);
            }
        }, null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));

        try
        {
            source.Process();
        }
        catch (Exception problem) when (walk.Phase != WalkPhase.Walked && !walk.EndLost && problem is IOException or ObjectDisposedException or EndOfStreamException or InvalidOperationException or FormatException)
        {
            throw new CensusFailedException($"the event stream broke before the heap walk finished: {problem.Message}", problem);
        }
        catch (Exception problem) when (problem is IOException or ObjectDisposedException or EndOfStreamException or InvalidOperationException or FormatException)
        {
            // The walk was complete (or its end lost); only the tail after it was cut.
        }
        watch.Dispose();
        // The next census on this process starts once the runtime has ended this session.
        stopped.Wait(TimeSpan.FromSeconds(10));

        var lost = source.EventsLost;
        if (walk.Phase == WalkPhase.Walking && walk.EndLost && lost > 0)
        {
            // The runtime dropped the walk's end with the rest: an incomplete census, said so below.
            walk.Phase = WalkPhase.Walked;
        }
        if (walk.Phase != WalkPhase.Walked)
        {
            throw new CensusFailedException(walk.TimedOut
                ? $"the runtime did not finish the heap walk within {timeout.TotalSeconds:0} s"
                : walk.Phase == WalkPhase.WaitingForCollection
                    ? "the event stream ended before the runtime started the census's collection (the program ended, or its runtime cannot take a heap census)"
                    : walk.EndLost ? "the heap walk's events stopped before its end, with no event reported lost (the program hung or ended)"
                    : "the event stream ended during the heap walk (the program ended)");
        }

        var census = walk.ToCensus(request);
        // A walk whose restart event was lost has no pause measured: 0 rather than a guess.
        census.PauseMilliseconds = walk.PauseEnd is { } end ? Math.Round(end - walk.SuspendStart, 1) : 0;
        census.DurationMilliseconds = Math.Round(clock.Elapsed.TotalMilliseconds, 1);
        census.TransferredBytes = counted.BytesRead;
        census.BufferBytes = (long)bufferMb << 20;
        census.LostEvents = lost;
        return census;
    }

    private enum WalkPhase { WaitingForCollection, Walking, Walked }

    /// <summary>The walk as the events tell it; touched only by the parsing thread.</summary>
    private sealed class WalkState(Dictionary<ulong, string> typeNames)
    {
        private readonly Dictionary<ulong, string> _typeNames = typeNames;
        private readonly Dictionary<ulong, (long Count, long Bytes)> _byType = new();

        /// <summary>The stream went quiet before the walk's end was seen (set by the watch timer).</summary>
        public volatile bool EndLost;

        public WalkPhase Phase { get; set; }
        public int Collection { get; set; }
        public double? LastSuspend { get; set; }
        public double SuspendStart { get; set; }
        public double? PauseEnd { get; set; }
        public long Time { get; set; }
        public volatile bool TimedOut;

        public void AddTypes(GCBulkTypeTraceData data)
        {
            for (var i = 0; i < data.Count; i++)
            {
                var type = data.Values(i);
                _typeNames[type.TypeID] = type.TypeName;
            }
        }

        public void AddNodes(GCBulkNodeTraceData data)
        {
            for (var i = 0; i < data.Count; i++)
            {
                var node = data.Values(i);
                ref var totals = ref CollectionsMarshal.GetValueRefOrAddDefault(_byType, node.TypeID, out _);
                totals = (totals.Count + 1, totals.Bytes + (long)node.Size);
            }
        }

        public ManagedCensus ToCensus(CensusRequest request)
        {
            // Several type ids can carry one name (the same generic instantiation loaded twice): one category each name.
            var byName = new Dictionary<string, ManagedTypeTotal>(StringComparer.Ordinal);
            foreach (var (typeId, totals) in _byType)
            {
                var name = _typeNames.TryGetValue(typeId, out var known) && known.Length > 0 ? known : $"(unnamed type 0x{typeId:x})";
                if (!byName.TryGetValue(name, out var type)) byName[name] = type = new ManagedTypeTotal { Name = name };
                type.Count += totals.Count;
                type.Bytes += totals.Bytes;
            }
            var types = byName.Values.OrderByDescending(t => t.Bytes).ThenByDescending(t => t.Count).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
            return new ManagedCensus
            {
                Time = Time,
                FootprintBytes = request.FootprintBytes,
                LimitBytes = request.LimitBytes,
                Trigger = request.Trigger,
                Bytes = types.Sum(t => t.Bytes),
                Count = types.Sum(t => t.Count),
                Types = types,
            };
        }
    }
}

/// <summary>Counts the bytes read through it (what a census transferred).</summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    private long _bytesRead;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Interlocked.Add(ref _bytesRead, read);
        return read;
    }

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer);
        Interlocked.Add(ref _bytesRead, read);
        return read;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
