using CsCheck;
using Foom.Storage.Stacks;
using Foom.Storage.Tests.Support;
using Foom.Testing;

namespace Foom.Storage.Tests;

public class StackTableTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Frame[] Stack(params int[] offsets) => offsets.Select(o => new Frame(1, (ulong)o)).ToArray();

    [Fact]
    public void WeChatsExampleSharesOuterFramesAndIdsAreInnermostNodes()
    {
        // The example of WeChat's write-up (English version; docs/design.md), innermost first: stack 1 = A C D E F G, stack 2 = B C D E F G,
        // stack 3 = B A D E F G.
        const int A = 1, B = 2, C = 3, D = 4, E = 5, F = 6, G = 7;
        using var stacks = StackTable.Create(_dir.Path, 16);
        var s1 = stacks.Intern(Stack(A, C, D, E, F, G));
        Assert.Equal(1 + 6, stacks.NodeCount);
        var s2 = stacks.Intern(Stack(B, C, D, E, F, G));
        Assert.Equal(1 + 7, stacks.NodeCount); // only B is new
        var s3 = stacks.Intern(Stack(B, A, D, E, F, G));
        Assert.Equal(1 + 9, stacks.NodeCount); // A under D, then B under that A
        Assert.Equal([s1, s2, s3], new[] { 6, 7, 9 });
        Assert.Equal(Stack(B, A, D, E, F, G), stacks.FramesOf(s3));
        Assert.Equal(6, stacks.Depth(s1));
    }

    [Fact]
    public void InterningAStackSeenBeforeReturnsItsIdWithoutNewNodes()
    {
        using var stacks = StackTable.Create(_dir.Path, 16);
        var id = stacks.Intern(Stack(10, 20, 30));
        var nodes = stacks.NodeCount;
        Assert.Equal(id, stacks.Intern(Stack(10, 20, 30)));
        Assert.True(stacks.TryFind(Stack(10, 20, 30), out var found));
        Assert.Equal(id, found);
        Assert.False(stacks.TryFind(Stack(10, 20), out _));
        Assert.Equal(nodes, stacks.NodeCount);
    }

    [Fact]
    public void AStackThatIsTheSuffixOfAnotherIsItsInnerNode()
    {
        using var stacks = StackTable.Create(_dir.Path, 16);
        var deep = stacks.Intern(Stack(1, 2, 3, 4));
        var shallow = stacks.Intern(Stack(3, 4)); // the caller's stack: a node of the deep one
        Assert.Equal(5, stacks.NodeCount);
        Assert.Equal(Stack(3, 4), stacks.FramesOf(shallow));
        Assert.Equal(Stack(1, 2, 3, 4), stacks.FramesOf(deep));
        Assert.Equal(0, stacks.Intern([]));
    }

    [Fact]
    public void FramesKeepTheirModuleAndTheFullOffset()
    {
        using var stacks = StackTable.Create(_dir.Path, 16);
        Frame[] frames = [new(65535, (1UL << 48) - 1), new(0, 0x7fff_1234_5678), new(3, 0)];
        var id = stacks.Intern(frames);
        Assert.Equal(frames, stacks.FramesOf(id));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Frame(65536, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Frame(1, 1UL << 48));
    }

    [Fact]
    public void AReaderSeesTheSameStacksAfterTheWriterClosed()
    {
        int id;
        using (var stacks = StackTable.Create(_dir.Path, 16)) id = stacks.Intern(Stack(5, 6, 7));
        using var reader = StackTable.OpenReadOnly(_dir.Path);
        Assert.Equal(Stack(5, 6, 7), reader.FramesOf(id));
        Assert.Throws<InvalidOperationException>(() => reader.Intern(Stack(1)));
        var error = Assert.Throws<SessionFormatException>(() => reader.FramesOf(999));
        Assert.Contains("stack id 999", error.Message);
    }

    /// <summary>
    /// Stacks shaped like a real program's: a shared trunk of outer frames, branching into
    /// subsystems, leaves differing in the innermost few frames; interned in random order with
    /// repeats, through several file and index growths. Compared with a dictionary of stacks and
    /// with the exact number of distinct outer-frame prefixes (the suffix-compression invariant).
    /// </summary>
    [Fact]
    public void InternAgreesWithADictionaryOfStacksAndSharesEveryCommonOuterPart()
    {
        var frameGen = Gen.Int[0, 40].Select(o => new Frame(1 + o % 3, (ulong)o * 16));
        var stackGen = Gen.Select(frameGen.Array[1, 6], frameGen.Array[0, 30], Gen.Int[0, 3], (leaf, middle, trunk) =>
            leaf.Concat(middle).Concat(Enumerable.Range(0, 4 + trunk).Select(i => new Frame(9, (ulong)i))).ToArray());
        stackGen.Array[50, 400].Sample(all =>
        {
            var dir = Path.Combine(_dir.Path, Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            var reference = new Dictionary<string, int>();
            var ids = new HashSet<int>();
            // The reference trie of outer-frame prefixes: (parent prefix, frame) -> prefix number.
            var trie = new Dictionary<(int, Frame), int>();
            using (var stacks = StackTable.Create(dir, 16))
            {
                foreach (var frames in all.Concat(all.Reverse()))
                {
                    var key = string.Join(",", frames);
                    var id = stacks.Intern(frames);
                    if (reference.TryGetValue(key, out var earlier)) Assert.Equal(earlier, id);
                    else
                    {
                        Assert.True(ids.Add(id), $"stack {key} got the id {id} of another stack");
                        reference[key] = id;
                    }
                    var prefix = 0;
                    for (var i = frames.Length - 1; i >= 0; i--)
                    {
                        if (!trie.TryGetValue((prefix, frames[i]), out var next)) trie[(prefix, frames[i])] = next = trie.Count + 1;
                        prefix = next;
                    }
                }
                Assert.Equal(trie.Count + 1, stacks.NodeCount);
                foreach (var (key, id) in reference) Assert.Equal(key, string.Join(",", stacks.FramesOf(id)));
            }
            using var reader = StackTable.OpenReadOnly(dir);
            foreach (var (key, id) in reference) Assert.Equal(key, string.Join(",", reader.FramesOf(id)));
        }, iter: 30);
    }
}
