using Foom.Storage.Logs;
using Foom.Storage.Tests.Support;
using Foom.Testing;

namespace Foom.Storage.Tests;

public class CircularLogTests : IDisposable
{
    private const ulong Tag = 0xF00750_0001;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private record struct Sample(long TimeMs, long FootprintBytes, long LiveBytes);

    [Fact]
    public void TheNewestRecordsAreKeptOldestFirst()
    {
        var path = _dir.File("footprint.log.foom");
        using (var log = CircularLog<Sample>.Create(path, capacity: 8, Tag))
        {
            for (var i = 0; i < 20; i++) log.Append(new Sample(i, i * 100, i * 10));
            Assert.Equal(Enumerable.Range(13, 7).Select(i => new Sample(i, i * 100, i * 10)), log.ReadAll());
        }
        using var reader = CircularLog<Sample>.OpenReadOnly(path, Tag);
        Assert.Equal(20, reader.TotalAppended);
        Assert.Equal(7, reader.ReadAll().Length);
        Assert.Equal(19, reader.ReadAll()[^1].TimeMs);
    }

    [Fact]
    public void AShortLogReadsWhatWasWritten()
    {
        using var log = CircularLog<Sample>.Create(_dir.File("a.log.foom"), capacity: 100, Tag);
        log.Append(new Sample(1, 2, 3));
        Assert.Equal([new Sample(1, 2, 3)], log.ReadAll());
    }

    [Fact]
    public void ALogOfAnotherRecordTypeIsRefused()
    {
        var path = _dir.File("a.log.foom");
        using (CircularLog<Sample>.Create(path, 4, Tag)) { }
        var wrongTag = Assert.Throws<SessionFormatException>(() => CircularLog<Sample>.OpenReadOnly(path, Tag + 1));
        Assert.Contains("type tag", wrongTag.Message);
        var wrongSize = Assert.Throws<SessionFormatException>(() => CircularLog<long>.OpenReadOnly(path, Tag));
        Assert.Contains("records are 24 bytes", wrongSize.Message);
    }

    [Fact]
    public void AReaderWhileTheWriterAppendsGetsOnlyWholeRecordsInOrder()
    {
        var path = _dir.File("a.log.foom");
        using var log = CircularLog<Sample>.Create(path, 64, Tag);
        using var reader = CircularLog<Sample>.OpenReadOnly(path, Tag);
        var writer = new Thread(() =>
        {
            for (var i = 0; i < 2_000_000; i++) log.Append(new Sample(i, i * 2, i * 3));
        });
        writer.Start();
        var reads = 0;
        while (writer.IsAlive || reads == 0)
        {
            var records = reader.ReadAll();
            for (var i = 0; i < records.Length; i++)
            {
                Assert.Equal(records[i].TimeMs * 2, records[i].FootprintBytes);
                Assert.Equal(records[i].TimeMs * 3, records[i].LiveBytes);
                if (i > 0) Assert.Equal(records[i - 1].TimeMs + 1, records[i].TimeMs);
            }
            reads++;
        }
        writer.Join();
    }
}
