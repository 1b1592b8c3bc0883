using System.Runtime.CompilerServices;
using Foom.Ring;
using Foom.Storage.Live;

namespace Foom.Recorder.Recording;

/// <summary>
/// The drain's look-ahead into the ring, so that the cache misses of applying an event overlap
/// with the work on the events before it. On a live set of millions of blocks nearly every insert
/// and free misses the cache in the heap index, and a free misses again on the block's record
/// (docs/benchmarks.md, "the recorder's per-event cost"): each event alone would wait out both.
/// So the addresses of the next <see cref="IndexDistance"/> committed events are read ahead of
/// the consumer and their index buckets prefetched, and <see cref="RecordDistance"/> events ahead,
/// by which time that bucket has arrived, the record it points at is prefetched too. Hints only:
/// nothing in the tables changes here, and what happens at a SIGKILL is as without it.
/// </summary>
internal sealed class HeapLookahead
{
    private const int IndexDistance = 16;
    private const int RecordDistance = 8;
    private const int Mask = IndexDistance - 1;

    private readonly ulong[] _addresses = new ulong[IndexDistance];
    /// <summary>Events read by the consumer, and events looked at ahead (counted from the same start).</summary>
    private long _read;
    private long _peeked;

    /// <summary>Called after each event the consumer hands out, before it is applied.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AfterRead(RingConsumer consumer, LiveAllocations live)
    {
        _read++;
        // The consumer's look-ahead starts again after the event just read when it had fallen behind.
        if (_peeked < _read) _peeked = _read;
        while (_peeked - _read < IndexDistance && consumer.TryPeekAhead(out var address))
        {
            _addresses[_peeked & Mask] = address;
            _peeked++;
            if (address != 0) live.PrefetchHeapIndex(address);
        }
        var recordAt = _read + RecordDistance;
        if (recordAt < _peeked)
        {
            var address = _addresses[recordAt & Mask];
            if (address != 0) live.PrefetchHeapRecord(address);
        }
    }
}
