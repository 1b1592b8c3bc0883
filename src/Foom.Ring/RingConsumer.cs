using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Foom.Ring;

/// <summary>
/// The ring's one consumer. <see cref="TryRead"/> returns a view of the next committed record and
/// keeps it valid until the next call, which moves past it; every 64 KiB, and whenever the ring
/// runs empty, the consumed bytes are zeroed and the tail published to the producers. Stacks sent by hash only are
/// resolved through <see cref="Stacks"/>. Not thread-safe: one thread reads.
/// </summary>
public sealed unsafe class RingConsumer
{
    private const ulong PublishEvery = 64 * 1024;

    private readonly RingHeader* header;
    private readonly byte* data;
    private readonly ulong size;
    private readonly ulong mask;
    private readonly string path;
    private readonly byte* wrapCopy; // pinned: a record that wraps is copied here, whole
    private readonly ulong[] keepAlive;
    private ulong tail;
    private ulong publishedTail;
    private ulong knownHead;
    private uint pendingLength;
    private long emptySince;
    private ulong stuckAt = ulong.MaxValue;
    private ulong peekPosition;
    private bool countsUnknownStacksInRing = true;

    /// <summary>A consumer from the ring's published tail; <paramref name="stacks"/> is the drain's table of stacks by hash, which the applier shares (a new one when none is given).</summary>
    public RingConsumer(EventRing ring, StacksByHash? stacks = null)
    {
        header = ring.HeaderPointer;
        data = ring.Data;
        size = ring.DataSize;
        mask = size - 1;
        path = ring.Path;
        var pinned = GC.AllocateArray<ulong>(RingLayout.MaxRecord / 8, pinned: true);
        wrapCopy = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        keepAlive = pinned;
        tail = publishedTail = Volatile.Read(ref header->Tail);
        Stacks = stacks ?? new StacksByHash();
    }

    /// <summary>
    /// A consumer that takes over from one that died (the recorder was killed): it starts at
    /// <paramref name="position"/>, the record boundary up to which its predecessor had applied
    /// events (at or past the tail it had published: the records in between are consumed and
    /// zeroed with the next publication). It does not know the stacks its predecessor was sent in
    /// full, so it leaves the ring's unknown-stack counter, which is the live consumer's, alone.
    /// </summary>
    public static RingConsumer TakeOver(EventRing ring, ulong position, StacksByHash? stacks = null)
    {
        var consumer = new RingConsumer(ring, stacks) { countsUnknownStacksInRing = false };
        var head = Volatile.Read(ref consumer.header->Head);
        if (position < consumer.tail || position > head || head - consumer.tail > consumer.size || (position & 7) != 0)
            throw new RingFormatException(ring.Path,
                $"cannot resume at position {position}: the ring's tail is {consumer.tail} and its head {head} (of {consumer.size} bytes)");
        consumer.tail = position;
        return consumer;
    }

    /// <summary>Stack hash → frames of every stack sent in full so far (this generation), and the stack ids the applier noted.</summary>
    public StacksByHash Stacks { get; }

    /// <summary>Records read.</summary>
    public long EventsRead { get; private set; }

    /// <summary>Hash-only records whose stack this consumer did not know.</summary>
    public long UnknownStacks { get; private set; }

    /// <summary>Bytes skipped because a process exec'ed with a reservation it never committed.</summary>
    public ulong SkippedBytes { get; private set; }

    /// <summary>How long a record reserved before the latest attach may stay uncommitted before
    /// the consumer decides its writer died in an exec and skips to the attach.</summary>
    public TimeSpan SkipAbandonedAfter { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Bytes reserved by producers and not consumed yet (committed or not).</summary>
    public ulong PendingBytes => Volatile.Read(ref header->Head) - tail;

    /// <summary>The next committed record, or false when there is none yet.</summary>
    // Fully optimised from the first event: the recorder's per-event path (EventApplier.Apply says why).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryRead(out RingEvent next)
    {
        Release();
        var offset = tail & mask;
        var word = Volatile.Read(ref *(ulong*)(data + offset));
        if (word == 0)
        {
            OnEmpty();
            next = default;
            return false;
        }
        emptySince = 0;
        var length = (uint)word;
        if (length < 8 || (length & 7) != 0 || length > RingLayout.MaxRecord)
            throw Corrupt($"record length {length} (it must be a multiple of 8 between 8 and {RingLayout.MaxRecord})");
        // The head is read only when a record claims to reach past the last head seen: reading it
        // on every record would pull the producers' cache line over to this core each time.
        if (tail + length > knownHead)
        {
            knownHead = Volatile.Read(ref header->Head);
            if (tail + length > knownHead) throw Corrupt($"record length {length} runs past the head at {knownHead}");
        }
        var record = data + offset;
        if (offset + length > size)
        {
            var first = (int)(size - offset);
            new ReadOnlySpan<byte>(record, first).CopyTo(new Span<byte>(wrapCopy, first));
            new ReadOnlySpan<byte>(data, (int)length - first).CopyTo(new Span<byte>(wrapCopy + first, (int)length - first));
            record = wrapCopy;
        }
        var frames = ReadOnlySpan<ulong>.Empty;
        var known = true;
        var kind = (RecordKind)record[4];
        var frameCount = record[6];
        var full = ((RecordFlags)record[7]).HasFlag(RecordFlags.FullStack);
        if (frameCount > RingLayout.MaxFrames) throw Corrupt($"{frameCount} frames (at most {RingLayout.MaxFrames})");
        switch (kind)
        {
            case RecordKind.Alloc:
                Require(length, sizeof(AllocRecord) + (full ? frameCount * 8 : 0), kind);
                known = ResolveStack(record, sizeof(AllocRecord), ((AllocRecord*)record)->StackHash, frameCount, full, out frames);
                break;
            case RecordKind.AllocFailed:
                Require(length, sizeof(AllocFailedRecord) + (full ? frameCount * 8 : 0), kind);
                known = ResolveStack(record, sizeof(AllocFailedRecord), ((AllocFailedRecord*)record)->Alloc.StackHash, frameCount, full, out frames);
                break;
            case RecordKind.Map:
                Require(length, sizeof(MapRecord) + (full ? frameCount * 8 : 0) + ((MapRecord*)record)->PathLength, kind);
                known = ResolveStack(record, sizeof(MapRecord), ((MapRecord*)record)->StackHash, frameCount, full, out frames);
                break;
            case RecordKind.Free:
                Require(length, sizeof(FreeRecord), kind);
                break;
            case RecordKind.Unmap:
                Require(length, sizeof(UnmapRecord), kind);
                break;
            case RecordKind.ModuleLoad:
            case RecordKind.ModuleUnload:
                Require(length, sizeof(ModuleRecord) + ((ModuleRecord*)record)->BuildIdLength + ((ModuleRecord*)record)->PathLength, kind);
                break;
            case RecordKind.Attach:
                Require(length, sizeof(AttachRecord) + ((AttachRecord*)record)->PathLength, kind);
                // A new program image: its addresses mean something else, its threads start with
                // empty caches, so the stacks of the old one go.
                if (((AttachFlags)((AttachRecord*)record)->AttachFlags).HasFlag(AttachFlags.Exec)) Stacks.Clear();
                break;
            default:
                throw Corrupt($"record kind {(int)kind} is not one this consumer knows");
        }
        pendingLength = length;
        EventsRead++;
        next = new RingEvent(record, tail, frames, known);
        return true;
    }

    /// <summary>
    /// Looks at the next committed record past the last one looked at (at first, past the record
    /// handed out last) without consuming it: <paramref name="address"/> is an allocation's or a
    /// free's address, 0 for any other record. It is a hint for prefetching, nothing more: false
    /// when that record is not committed yet or its length is not one <see cref="TryRead"/> would
    /// accept (TryRead judges it when it gets there), and nothing read here is trusted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPeekAhead(out ulong address)
    {
        address = 0;
        var position = Math.Max(peekPosition, tail + pendingLength);
        // Records are 8-aligned and the ring a power of two, so the word never wraps.
        var offset = position & mask;
        var word = Volatile.Read(ref *(ulong*)(data + offset));
        var length = (uint)word;
        if (word == 0 || length < 8 || (length & 7) != 0 || length > RingLayout.MaxRecord) return false;
        var kind = (RecordKind)data[offset + 4];
        if ((kind == RecordKind.Alloc || kind == RecordKind.Free) && offset + 24 <= size)
            address = *(ulong*)(data + offset + 16);
        peekPosition = position + length;
        return true;
    }

    /// <summary>Waits until a record is committed, polling every millisecond: a consumer that
    /// spins right behind the producers keeps stealing the cache lines they are writing, and the
    /// ring is there to absorb the delay.</summary>
    public bool WaitForEvent(TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            if (pendingLength != 0 || Volatile.Read(ref *(ulong*)(data + (tail & mask))) != 0) return true;
            if (Stopwatch.GetTimestamp() >= deadline) return false;
            OnEmpty();
            Thread.Sleep(1);
        }
    }

    private bool ResolveStack(byte* record, int framesAt, ulong hash, int frameCount, bool full, out ReadOnlySpan<ulong> frames)
    {
        if (full)
        {
            frames = new ReadOnlySpan<ulong>(record + framesAt, frameCount);
            Stacks.AddFrames(hash, frames);
            return true;
        }
        if (Stacks.TryGetFrames(hash, out frames)) return true;
        UnknownStacks++;
        if (countsUnknownStacksInRing) Interlocked.Increment(ref header->UnknownStacks);
        return false;
    }

    private void Require(uint length, int needed, RecordKind kind)
    {
        if (length < needed) throw Corrupt($"{kind} record of {length} bytes, its fields need {needed}");
    }

    private RingFormatException Corrupt(string problem) => new(path, $"record at position {tail}: {problem}");

    /// <summary>Moves past the record handed out last; it is zeroed with the rest of its batch
    /// when the tail is published.</summary>
    private void Release()
    {
        if (pendingLength == 0) return;
        tail += pendingLength;
        pendingLength = 0;
        if (tail - publishedTail >= PublishEvery) PublishTail();
    }

    private void Zero(ulong position, ulong length)
    {
        while (length > 0)
        {
            var offset = position & mask;
            var chunk = Math.Min(length, Math.Min(size - offset, int.MaxValue));
            new Span<byte>(data + offset, (int)chunk).Clear();
            position += chunk;
            length -= chunk;
        }
    }

    /// <summary>Zeroes everything consumed since the last publication (one memset per batch rather
    /// than one per record: a zero word is how producers' uncommitted records look) and hands
    /// the space back to the producers.</summary>
    private void PublishTail()
    {
        if (publishedTail == tail) return;
        Zero(publishedTail, tail - publishedTail);
        Volatile.Write(ref header->Tail, tail);
        publishedTail = tail;
    }

    private void OnEmpty()
    {
        PublishTail();
        // Reserved but not committed? Looked at only after a while of finding nothing, so an idle
        // consumer does not keep reading the producers' line.
        var now = Stopwatch.GetTimestamp();
        if (emptySince == 0)
        {
            emptySince = now;
            return;
        }
        if (Stopwatch.GetElapsedTime(emptySince, now) < SkipAbandonedAfter) return;
        emptySince = now;
        var head = Volatile.Read(ref header->Head);
        knownHead = head;
        if (head == tail)
        {
            stuckAt = ulong.MaxValue;
            return;
        }
        // Normally a producer between its reservation and its commit. A thread of a program image
        // that has since exec'ed never commits; everything before the new image's attach record
        // belongs to the old image, which is gone. Two looks in a row at the same place, a
        // SkipAbandonedAfter apart, and the reservation counts as abandoned.
        if (stuckAt != tail)
        {
            stuckAt = tail;
            return;
        }
        var attach = Volatile.Read(ref header->AttachPosition);
        if (attach > tail && attach <= head)
        {
            SkippedBytes += attach - tail;
            tail = attach;
            PublishTail();
        }
        stuckAt = ulong.MaxValue;
    }
}
