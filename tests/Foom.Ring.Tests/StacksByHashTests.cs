using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>The drain's one table of stacks by hash: the consumer's frames and the applier's stack ids, side by side.</summary>
public sealed class StacksByHashTests
{
    // 40 000 stacks: past two doublings of the 16 384 slots; hashes that share low bits too.
    private static readonly ulong[] Hashes = Enumerable.Range(1, 40_000).Select(i => (ulong)i * 0x1_0000_0000ul + (ulong)(i % 3)).ToArray();

    private static ulong[] FramesOf(int i) => Enumerable.Range(0, 1 + i % 7).Select(f => (ulong)(i * 100 + f)).ToArray();

    [Fact]
    public void EveryHashKeepsItsFramesAndItsLatestIdAndEpochThroughGrowth()
    {
        var table = new StacksByHash();
        for (var i = 0; i < Hashes.Length; i++)
        {
            if (i % 3 != 2) table.AddFrames(Hashes[i], FramesOf(i));
            if (i % 3 != 1) table.SetStackId(Hashes[i], i + 1, i % 5);
        }
        for (var i = 0; i < Hashes.Length; i += 2) table.SetStackId(Hashes[i], -(i + 1), 7);

        Assert.Equal(Hashes.Length, table.Count);
        for (var i = 0; i < Hashes.Length; i++)
        {
            // Frames only (i % 3 == 1), an id only (2: a resumed session's key, sent in full to a dead recorder), or both (0).
            Assert.Equal(i % 3 != 2, table.TryGetFrames(Hashes[i], out var frames));
            if (i % 3 != 2) Assert.Equal(FramesOf(i), frames.ToArray());
            var hasId = i % 3 != 1 || i % 2 == 0;
            Assert.Equal(hasId, table.TryGetStackId(Hashes[i], out var stackId, out var epoch));
            if (hasId) Assert.Equal(i % 2 == 0 ? (-(i + 1), 7) : (i + 1, i % 5), (stackId, epoch));
        }
        Assert.False(table.TryGetFrames(0xdead_beef_0000_0005ul, out _));
        Assert.False(table.TryGetStackId(0xdead_beef_0000_0005ul, out _, out _));
        Assert.False(table.TryGetFrames(0, out _));
        Assert.False(table.TryGetStackId(0, out _, out _));
    }

    [Fact]
    public void NewFramesForAHashReplaceTheOldAndKeepItsStackId()
    {
        var table = new StacksByHash();
        table.AddFrames(0x1234, [1, 2, 3]);
        table.SetStackId(0x1234, 9, 2);
        table.AddFrames(0x1234, [1, 2, 3]);
        Assert.Equal(3, table.FrameCount);   // the same frames again are compared, not stored again
        table.AddFrames(0x1234, [4, 5]);
        Assert.True(table.TryGetFrames(0x1234, out var frames));
        Assert.Equal([4UL, 5UL], frames.ToArray());
        Assert.True(table.TryGetStackId(0x1234, out var stackId, out var epoch));
        Assert.Equal((9, 2), (stackId, epoch));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void ClearForgetsFramesAndIdsAndHashZeroIsRefused()
    {
        var table = new StacksByHash();
        for (var i = 0; i < Hashes.Length; i++)
        {
            table.AddFrames(Hashes[i], FramesOf(i));
            table.SetStackId(Hashes[i], i + 1, 0);
        }
        table.Clear();
        Assert.Equal(0, table.Count);
        Assert.Equal(0, table.FrameCount);
        Assert.All(Hashes, hash => Assert.False(table.TryGetFrames(hash, out _)));
        Assert.All(Hashes, hash => Assert.False(table.TryGetStackId(hash, out _, out _)));

        table.SetStackId(Hashes[^1], 3, 1);
        Assert.True(table.TryGetStackId(Hashes[^1], out var again, out _));
        Assert.Equal(3, again);
        Assert.False(table.TryGetFrames(Hashes[^1], out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.SetStackId(0, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.AddFrames(0, [1]));
    }
}
