using Foom.Storage.Live;
using Foom.Storage.Stacks;
using Foom.Storage.Tests.Support;
using Foom.Testing;

namespace Foom.Storage.Tests;

public class SessionTablesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Writes a small session: two modules, three stacks, heap blocks and a split mapping.</summary>
    internal static (int Stack1, int Stack2) WriteSample(SessionTables tables)
    {
        var exe = tables.Modules.Load("/usr/bin/app", "a1b2", 0x5555_0000_0000, 0x5555_0000_0000, 0x10_0000);
        var libc = tables.Modules.Load("/lib/libc.so.6", "c3d4", 0x7f00_0000_0000, 0x7f00_0000_0000, 0x20_0000);
        Span<Frame> frames = stackalloc Frame[3];
        tables.Modules.Resolve([0x7f00_0000_1000UL, 0x5555_0000_2000UL, 0x5555_0000_3000UL], frames);
        var stack1 = tables.Stacks.Intern(frames);
        tables.Modules.Resolve([0x7f00_0000_1000UL, 0x5555_0000_2400UL, 0x5555_0000_3000UL], frames);
        var stack2 = tables.Stacks.Intern(frames);
        Assert.Equal(libc, tables.Stacks.FramesOf(stack1)[0].ModuleId);
        Assert.Equal(exe, tables.Stacks.FramesOf(stack2)[2].ModuleId);
        var strings = tables.Categories.Intern("System.String");
        for (ulong i = 0; i < 100; i++) tables.Live.InsertHeap(0x1000_0000 + i * 32, 24, i % 2 == 0 ? stack1 : stack2, i < 10 ? strings : 0);
        tables.Live.InsertMapping(0x7e00_0000_0000, 64 * 4096, stack1, tables.Categories.Intern("VM: anonymous"));
        tables.Live.RemoveMappingRange(0x7e00_0000_0000 + 8 * 4096, 4096);
        return (stack1, stack2);
    }

    [Fact]
    public void ASessionClosedCleanlyReadsBackWhole()
    {
        (int, int) stacks;
        using (var tables = SessionTables.Create(_dir.Path)) stacks = WriteSample(tables);
        using var reader = SessionTables.Open(_dir.Path);
        Assert.Equal(WriterStatus.ClosedCleanly, reader.Recovery.Status);
        Assert.Contains("closed this session cleanly", reader.Recovery.Statement);
        Assert.Equal(100, reader.Live.HeapCount);
        Assert.Equal(2, reader.Live.MappingCount);
        Assert.Equal(63 * 4096, reader.Live.MappingBytes);
        Assert.True(reader.Live.TryFind(0x1000_0000 + 32, out var block));
        Assert.Equal(stacks.Item2, block.StackId);
        var frames = reader.Stacks.FramesOf(block.StackId);
        Assert.Equal("/lib/libc.so.6", reader.Modules.Find(frames[0].ModuleId)!.Path);
        Assert.Equal(0x2400UL, frames[1].Offset);
        Assert.Equal("System.String", reader.Categories.Name(reader.Live.Allocations[0].CategoryId));
    }

    [Fact]
    public void ASessionWhoseWriterDiedSaysSoAndKeepsEverythingCompleted()
    {
        var tables = SessionTables.Create(_dir.Path);
        WriteSample(tables);
        tables.Abandon();
        using var reader = SessionTables.Open(_dir.Path);
        Assert.Equal(WriterStatus.Interrupted, reader.Recovery.Status);
        Assert.Contains("did not close", reader.Recovery.Statement);
        Assert.Equal(100, reader.Live.HeapCount);
    }

    [Fact]
    public void ASessionWhoseWriterDiedCanBeResumedAndKeepsItsIds()
    {
        var tables = SessionTables.Create(_dir.Path);
        var (stack1, stack2) = WriteSample(tables);
        tables.StackKeys.Append(0xfeed, stack2);
        tables.Live.SourcePosition = 4096;
        tables.Abandon();

        using (var resumed = SessionTables.Resume(_dir.Path))
        {
            Assert.Contains(resumed.ResumeNotes, note => note.Contains("did not close"));
            Assert.Equal(4096UL, resumed.Live.SourcePosition);
            Assert.Equal(stack2, resumed.StackKeys.ReadAll(resumed.Stacks.NodeCount).Last(record => record.Key == 0xfeed).StackId);
            // Known frames, stacks, modules and categories keep their ids; new ones get new ids.
            Span<Frame> frames = stackalloc Frame[3];
            resumed.Modules.Resolve([0x7f00_0000_1000UL, 0x5555_0000_2400UL, 0x5555_0000_3000UL], frames);
            var nodes = resumed.Stacks.NodeCount;
            Assert.Equal(stack2, resumed.Stacks.Intern(frames));
            Assert.Equal(nodes, resumed.Stacks.NodeCount);
            resumed.Modules.Resolve([0x7f00_0000_1000UL, 0x5555_0000_2800UL, 0x5555_0000_3000UL], frames);
            var stack3 = resumed.Stacks.Intern(frames);
            Assert.Equal(nodes + 2, resumed.Stacks.NodeCount);   // it shares only the outermost frame: two new nodes
            Assert.Equal(resumed.Categories.Intern("System.String"), resumed.Categories.Intern("System.String"));
            Assert.Equal(3, resumed.Categories.Intern("Resumed"));
            Assert.Equal(1, resumed.Modules.ModuleIdAt(0x5555_0000_2000));
            Assert.True(resumed.Live.RemoveHeap(0x1000_0000));
            resumed.Live.InsertHeap(0x2000_0000, 48, stack3, 3);
            Assert.Equal(100, resumed.Live.HeapCount);
            Assert.Equal(stack1, resumed.Stacks.Intern(resumed.Stacks.FramesOf(stack1)));
        }
        using var reader = SessionTables.Open(_dir.Path);
        Assert.Equal(WriterStatus.ClosedCleanly, reader.Recovery.Status);
        Assert.Equal(100, reader.Live.HeapCount);
        Assert.True(reader.Live.TryFind(0x2000_0000, out var block));
        Assert.Equal(("Resumed", 48UL), (reader.Categories.Name(block.CategoryId), block.Size));
        Assert.Equal(0x2800UL, reader.Stacks.FramesOf(block.StackId)[1].Offset);
    }

    [Fact]
    public void ResumingASessionStillBeingWrittenOrDamagedIsRefused()
    {
        using (var writer = SessionTables.Create(_dir.Path))
        {
            WriteSample(writer);
            var busy = Assert.Throws<IOException>(() => SessionTables.Resume(_dir.Path));
            Assert.Contains("being written by another recorder", busy.Message);
        }
        var nodes = Path.Combine(_dir.Path, StackTable.NodesFileName);
        var bytes = File.ReadAllBytes(nodes);
        bytes[0] ^= 0xff;   // the magic
        File.WriteAllBytes(nodes, bytes);
        var damaged = Assert.Throws<SessionFormatException>(() => SessionTables.Resume(_dir.Path));
        Assert.Equal(nodes, damaged.FilePath);
        // Nothing was left holding the lock.
        Assert.False(SessionReader.WriterIsRunning(_dir.Path));
    }

    [Fact]
    public void ASecondWriterOnTheSameSessionIsRefused()
    {
        using var tables = SessionTables.Create(_dir.Path);
        Assert.Throws<IOException>(() => SessionTables.Create(_dir.Path));
    }

    [Fact]
    public void AReaderBesideARunningWriterSeesOnlyWholeRecords()
    {
        using var tables = SessionTables.Create(_dir.Path, initialLiveSlots: 16, initialStackNodes: 16);
        var stacks = Enumerable.Range(0, 200).Select(i => tables.Stacks.Intern([new Frame(0, (ulong)i + 1), new Frame(0, 7)])).ToArray();
        for (var i = 0; i < 1000; i++) tables.Categories.Intern("Category" + i);
        using var stop = new CancellationTokenSource();
        // Every record the writer makes has category = stack id % 1000 + 1 and size = stack id * 8:
        // a record torn between two writes (the Word of one, the Payload of another) breaks that.
        var writer = new Thread(() =>
        {
            var random = new Random(1);
            while (!stop.IsCancellationRequested)
            {
                var stack = stacks[random.Next(stacks.Length)];
                var address = 0x1000_0000UL + (ulong)random.Next(2000) * 16;
                switch (random.Next(10))
                {
                    case < 5: tables.Live.InsertHeap(address, (ulong)stack * 8, stack, stack % 1000 + 1); break;
                    case < 8: tables.Live.RemoveHeap(address); break;
                    case 8: tables.Live.InsertMapping(0x7000_0000_0000UL + (ulong)random.Next(100) * 4096, (ulong)random.Next(1, 8) * 4096, stack, stack % 1000 + 1); break;
                    default: tables.Live.RemoveMappingRange(0x7000_0000_0000UL + (ulong)random.Next(100) * 4096, 4096); break;
                }
            }
        });
        writer.Start();
        try
        {
            var sawRecords = false;
            for (var round = 0; round < 30; round++)
            {
                using var reader = SessionTables.Open(_dir.Path);
                Assert.Equal(WriterStatus.Running, reader.Recovery.Status);
                Assert.Contains("still running", reader.Recovery.Statement);
                foreach (var a in reader.Live.Allocations)
                {
                    Assert.Equal(a.StackId % 1000 + 1, a.CategoryId);
                    if (a.Kind == AllocationKind.Heap) Assert.Equal((ulong)a.StackId * 8, a.Size);
                    Assert.Equal(2, reader.Stacks.Depth(a.StackId));
                }
                sawRecords |= reader.Live.Count > 0;
            }
            Assert.True(sawRecords);
        }
        finally
        {
            stop.Cancel();
            writer.Join();
        }
    }

    [Fact]
    public void CircularLogsLiveInTheSessionDirectory()
    {
        using (var tables = SessionTables.Create(_dir.Path))
        {
            var log = tables.CreateLog<long>("footprint", 16, typeTag: 42);
            log.Append(7);
            Assert.Throws<ArgumentException>(() => tables.CreateLog<long>("../escape", 4, 42));
        }
        using var reader = SessionTables.Open(_dir.Path);
        using var footprint = reader.OpenLog<long>("footprint", 42);
        Assert.Equal([7L], footprint.ReadAll());
    }
}
