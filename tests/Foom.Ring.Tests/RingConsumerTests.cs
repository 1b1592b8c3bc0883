using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>The consumer against records written by hand, the way a producer in another process
/// writes them (through a mapping of its own): wrapping, abandoned reservations, unknown stacks,
/// and records that break the format.</summary>
public sealed unsafe class RingConsumerTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("foom-consumer-test-");

    public void Dispose() => directory.Delete(recursive: true);

    /// <summary>A producer's view of the ring: reserve, write, commit.</summary>
    private sealed class Producer : IDisposable
    {
        private readonly MemoryMappedFile file;
        private readonly MemoryMappedViewAccessor view;
        private readonly byte* mapping;

        public Producer(string path)
        {
            file = MemoryMappedFile.CreateFromFile(path, FileMode.Open);
            view = file.CreateViewAccessor();
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            mapping = pointer + view.PointerOffset;
        }

        public ref RingHeader Header => ref *(RingHeader*)mapping;

        public ulong Reserve(int length)
        {
            var position = Header.Head;
            Header.Head = position + (ulong)length;
            return position;
        }

        public void Write(ulong position, ReadOnlySpan<byte> record, bool commit = true)
        {
            var size = Header.DataSize;
            var data = mapping + RingLayout.HeaderSize;
            for (var i = 8; i < record.Length; i++) data[(position + (ulong)i) & (size - 1)] = record[i];
            if (commit) Volatile.Write(ref *(ulong*)(data + (position & (size - 1))), MemoryMarshal.Read<ulong>(record));
        }

        public ulong Publish(ReadOnlySpan<byte> record)
        {
            var position = Reserve(record.Length);
            Write(position, record);
            return position;
        }

        public void Dispose()
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            file.Dispose();
        }
    }

    private static byte[] Alloc(ulong address, ulong size, ulong hash, ulong[]? frames)
    {
        var bytes = new byte[sizeof(AllocRecord) + (frames?.Length ?? 0) * 8];
        var record = new AllocRecord
        {
            Header = new RecordHeader
            {
                Length = (uint)bytes.Length, Kind = (byte)RecordKind.Alloc, Source = (byte)EventSource.Malloc,
                FrameCount = (byte)(frames?.Length ?? 3), Flags = (byte)(frames is null ? RecordFlags.None : RecordFlags.FullStack),
            },
            ThreadId = 77, Address = address, Size = size, StackHash = hash,
        };
        MemoryMarshal.Write(bytes, in record);
        if (frames is not null) MemoryMarshal.AsBytes(frames.AsSpan()).CopyTo(bytes.AsSpan(sizeof(AllocRecord)));
        return bytes;
    }

    private static byte[] Attach(uint generation)
    {
        var bytes = new byte[sizeof(AttachRecord)];
        var record = new AttachRecord
        {
            Header = new RecordHeader { Length = (uint)bytes.Length, Kind = (byte)RecordKind.Attach },
            Pid = 1234, Generation = generation, AttachFlags = generation > 1 ? (uint)AttachFlags.Exec : 0,
        };
        MemoryMarshal.Write(bytes, in record);
        return bytes;
    }

    private (EventRing Ring, Producer Producer) NewRing()
    {
        var path = Path.Combine(directory.FullName, "ring");
        var ring = EventRing.Create(path, EventRing.MinimumDataSize);
        return (ring, new Producer(path));
    }

    [Fact]
    public void ARecordThatWrapsPastTheEndIsReadWholeAndTheRingIsZeroedBehindTheConsumer()
    {
        var (ring, producer) = NewRing();
        using (ring)
        using (producer)
        {
            var consumer = new RingConsumer(ring);
            var filler = Alloc(1, 1, 1, [1, 2, 3]);
            var bigLength = (ulong)(sizeof(AllocRecord) + 64 * 8);
            // Fill most of the ring, consuming as we go, so the next record straddles the end.
            while (producer.Header.Head + bigLength <= ring.DataSize)
            {
                producer.Publish(filler);
                Assert.True(consumer.TryRead(out _));
            }
            var big = Enumerable.Range(1, 64).Select(i => (ulong)i * 0x1111).ToArray();
            var position = producer.Publish(Alloc(0xabc0, 4242, 99, big));
            Assert.True(position < ring.DataSize && position + bigLength > ring.DataSize, "the record did not wrap");
            Assert.True(consumer.TryRead(out var e));
            Assert.Equal((RecordKind.Alloc, 0xabc0ul, 4242ul, position), (e.Kind, e.Address, e.Size, e.Position));
            Assert.Equal(big, e.Frames.ToArray());
            Assert.False(consumer.TryRead(out _));
            Assert.Equal(producer.Header.Head, ring.Header.Tail);
            var data = DataArea(ring);
            Assert.True(data.IndexOfAnyExcept((byte)0) < 0, "consumed records were not zeroed");
        }
    }

    [Fact]
    public void LookingAheadGivesTheNextCommittedRecordsAddressesWithoutConsumingThem()
    {
        var (ring, producer) = NewRing();
        using (ring)
        using (producer)
        {
            var consumer = new RingConsumer(ring);
            Assert.False(consumer.TryPeekAhead(out _));
            producer.Publish(Alloc(0x1000, 8, 0x5555, [7, 8, 9]));
            producer.Publish(Attach(1));
            producer.Publish(Alloc(0x2000, 16, 0x5555, null));
            var uncommitted = producer.Reserve(sizeof(AllocRecord));
            producer.Write(uncommitted, Alloc(0x3000, 24, 0x5555, null), commit: false);

            Assert.True(consumer.TryRead(out var first));
            Assert.Equal(0x1000ul, first.Address);
            Assert.True(consumer.TryPeekAhead(out var afterFirst));
            Assert.Equal(0ul, afterFirst); // the attach: no address
            Assert.True(consumer.TryPeekAhead(out var afterAttach));
            Assert.Equal(0x2000ul, afterAttach);
            // A reserved record not yet committed is not looked at, however often asked.
            Assert.False(consumer.TryPeekAhead(out _));
            Assert.False(consumer.TryPeekAhead(out _));

            // Nothing looked at was consumed: the records come out of TryRead in order, whole.
            Assert.True(consumer.TryRead(out var attach) && attach.Kind == RecordKind.Attach);
            Assert.True(consumer.TryRead(out var second));
            Assert.Equal((0x2000ul, 16ul, 3), (second.Address, second.Size, second.Frames.Length));

            producer.Write(uncommitted, Alloc(0x3000, 24, 0x5555, null));
            Assert.True(consumer.TryPeekAhead(out var third));
            Assert.Equal(0x3000ul, third);
            Assert.True(consumer.TryRead(out var read) && read.Address == 0x3000);
            // Behind the consumer now: looking ahead starts again after the record just read.
            Assert.False(consumer.TryPeekAhead(out _));
            Assert.False(consumer.TryRead(out _));
        }
    }

    private static ReadOnlySpan<byte> DataArea(EventRing ring) =>
        new((byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref ring.Header) + RingLayout.HeaderSize, (int)ring.DataSize);

    [Fact]
    public void AStackSentByHashOnlyIsResolvedOrCountedAsUnknown()
    {
        var (ring, producer) = NewRing();
        using (ring)
        using (producer)
        {
            var consumer = new RingConsumer(ring);
            producer.Publish(Alloc(0x10, 8, 0x5555, [7, 8, 9]));
            producer.Publish(Alloc(0x20, 8, 0x5555, null));
            producer.Publish(Alloc(0x30, 8, 0x6666, null));
            Assert.True(consumer.TryRead(out var full) && full.StackKnown);
            Assert.True(consumer.TryRead(out var hashed));
            Assert.True(hashed.StackKnown);
            Assert.Equal([7ul, 8, 9], hashed.Frames.ToArray());
            Assert.True(consumer.TryRead(out var unknown));
            Assert.False(unknown.StackKnown);
            Assert.True(unknown.Frames.IsEmpty);
            Assert.Equal(1, consumer.UnknownStacks);
            Assert.Equal(1ul, ring.ReadCounters().UnknownStacks);

            // An exec: the new image's stacks start afresh, the old hashes mean nothing now.
            producer.Publish(Attach(2));
            producer.Publish(Alloc(0x40, 8, 0x5555, null));
            Assert.True(consumer.TryRead(out var attach) && attach.AttachFlags == AttachFlags.Exec);
            Assert.True(consumer.TryRead(out var stale));
            Assert.False(stale.StackKnown);
        }
    }

    [Fact]
    public void AReservationAbandonedByAnExecIsSkippedUpToTheNewImagesAttach()
    {
        var (ring, producer) = NewRing();
        using (ring)
        using (producer)
        {
            var consumer = new RingConsumer(ring) { SkipAbandonedAfter = TimeSpan.FromMilliseconds(100) };
            producer.Publish(Attach(1));
            producer.Reserve(48);                                  // a thread that vanished in exec
            producer.Publish(Alloc(0x50, 8, 1, [1]));              // committed, but behind the hole
            var attach = producer.Publish(Attach(2));
            producer.Header.AttachPosition = attach;
            producer.Publish(Alloc(0x60, 16, 2, [2]));

            Assert.True(consumer.TryRead(out var first) && first.Generation == 1);
            Assert.False(consumer.TryRead(out _));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            var skipped = false;
            while (DateTime.UtcNow < deadline && !(skipped = consumer.TryRead(out _))) Thread.Sleep(20);
            Assert.True(skipped, "the consumer stayed stuck at the abandoned reservation");
            Assert.Equal(48ul + (ulong)sizeof(AllocRecord) + 8, consumer.SkippedBytes);
            Assert.True(consumer.TryRead(out var after));
            Assert.Equal((RecordKind.Alloc, 0x60ul), (after.Kind, after.Address));
        }
    }

    [Fact]
    public void AReservationBeforeNoLaterAttachIsWaitedFor()
    {
        var (ring, producer) = NewRing();
        using (ring)
        using (producer)
        {
            var consumer = new RingConsumer(ring) { SkipAbandonedAfter = TimeSpan.FromMilliseconds(50) };
            producer.Header.AttachPosition = producer.Publish(Attach(1));
            Assert.True(consumer.TryRead(out _));
            var slow = producer.Reserve(sizeof(AllocRecord) + 8);
            for (var i = 0; i < 10; i++)
            {
                Assert.False(consumer.TryRead(out _));
                Thread.Sleep(20);
            }
            producer.Write(slow, Alloc(0x70, 8, 3, [3]));
            Assert.True(consumer.TryRead(out var late));
            Assert.Equal(0x70ul, late.Address);
            Assert.Equal(0ul, consumer.SkippedBytes);
        }
    }

    [Theory]
    [InlineData(12u, 1, "multiple of 8")]
    [InlineData(16u, 9, "record kind 9")]
    [InlineData(16u, 1, "Alloc record of 16 bytes")]
    [InlineData(4096u, 2, "runs past the head")]
    public void ARecordThatBreaksTheFormatIsReportedWithTheFileAndPosition(uint length, byte kind, string problem)
    {
        var (ring, producer) = NewRing();
        using (ring)
        using (producer)
        {
            var consumer = new RingConsumer(ring);
            producer.Publish(Attach(1));
            var bytes = new byte[24];
            MemoryMarshal.Write(bytes, new RecordHeader { Length = length, Kind = kind });
            producer.Publish(bytes);
            Assert.True(consumer.TryRead(out _));
            var error = Assert.Throws<RingFormatException>(() => consumer.TryRead(out _));
            Assert.Contains(ring.Path, error.Message);
            Assert.Contains($"position {sizeof(AttachRecord)}", error.Message);
            Assert.Contains(problem, error.Message);
        }
    }

    [Fact]
    public void OpeningAFileThatIsNotARingSaysWhy()
    {
        var notRing = Path.Combine(directory.FullName, "not-a-ring");
        File.WriteAllBytes(notRing, new byte[8192]);
        Assert.Contains("not a Foom ring", Assert.Throws<RingFormatException>(() => EventRing.Open(notRing)).Message);
        var truncated = Path.Combine(directory.FullName, "truncated");
        File.WriteAllBytes(truncated, new byte[100]);
        Assert.Contains("shorter than the 4096-byte header", Assert.Throws<RingFormatException>(() => EventRing.Open(truncated)).Message);

        var ringPath = Path.Combine(directory.FullName, "short-ring");
        using (EventRing.Create(ringPath, EventRing.MinimumDataSize)) { }
        using (var stream = new FileStream(ringPath, FileMode.Open)) stream.SetLength(RingLayout.HeaderSize + 100);
        var error = Assert.Throws<RingFormatException>(() => EventRing.Open(ringPath));
        Assert.Contains(ringPath, error.Message);
        Assert.Contains("promises", error.Message);
        Assert.Throws<IOException>(() => EventRing.Create(ringPath));
    }
}
