using Foom.Recorder.Recording;

namespace Foom.Recording.Tests.Recording;

public sealed class StackIdsByHashTests
{
    [Fact]
    public void EveryHashKeepsItsLatestIdAndEpochThroughGrowthAndClear()
    {
        var table = new StackIdsByHash();
        // 40 000 stacks: past two doublings of the 16 384 slots; hashes that share low bits too.
        var hashes = Enumerable.Range(1, 40_000).Select(i => (ulong)i * 0x1_0000_0000ul + (ulong)(i % 3)).ToArray();
        for (var i = 0; i < hashes.Length; i++) table.Set(hashes[i], i + 1, i % 5);
        for (var i = 0; i < hashes.Length; i += 2) table.Set(hashes[i], -(i + 1), 7);

        for (var i = 0; i < hashes.Length; i++)
        {
            Assert.True(table.TryGet(hashes[i], out var stackId, out var epoch), $"hash {hashes[i]:x} was lost");
            Assert.Equal(i % 2 == 0 ? (-(i + 1), 7) : (i + 1, i % 5), (stackId, epoch));
        }
        Assert.False(table.TryGet(0xdead_beef_0000_0005ul, out _, out _));

        table.Clear();
        Assert.All(hashes, hash => Assert.False(table.TryGet(hash, out _, out _)));
        table.Set(hashes[^1], 3, 1);
        Assert.True(table.TryGet(hashes[^1], out var again, out _));
        Assert.Equal(3, again);
        Assert.Throws<ArgumentOutOfRangeException>(() => table.Set(0, 1, 0));
    }
}
