using System.IO.Compression;
using Foom.Storage.Stacks;

namespace Foom.Benchmarks;

/// <summary>The stacks the stack-table benchmarks intern.</summary>
public static class StackData
{
    /// <summary>
    /// The 1,760 distinct allocation stacks heaptrack recorded from CPython running
    /// Data/python-workload.py (Data/make-python-stacks.sh), innermost first, depth 4–62, mean 36.
    /// </summary>
    public static Frame[][] Python()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Data", "python-stacks.txt.gz");
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        var stacks = new List<Frame[]>();
        while (reader.ReadLine() is { } line)
            stacks.Add(line.Split(' ').Select(pc => Frame.Unknown(Convert.ToUInt64(pc, 16))).ToArray());
        return stacks.ToArray();
    }

    /// <summary>
    /// <paramref name="count"/> distinct synthetic stacks of depth 20–60 shaped like a program's:
    /// each new stack takes an earlier one, keeps all but its innermost 1 + Geometric(mean 3)
    /// frames, and grows new frames (from a pool of 50,000 functions) to a random depth. Its
    /// sharing is a parameter of the model, so it measures speed at scale; the Python stacks
    /// measure sharing.
    /// </summary>
    public static Frame[][] Synthetic(int count, int seed = 11)
    {
        var random = new Random(seed);
        var stacks = new List<Frame[]>(count);
        var seen = new HashSet<string>();
        while (stacks.Count < count)
        {
            var depth = random.Next(20, 61);
            List<Frame> frames;
            if (stacks.Count < 16)
                frames = Enumerable.Range(0, depth).Select(_ => NewFrame(random)).ToList();
            else
            {
                var parent = stacks[random.Next(stacks.Count)];
                var drop = 1 + (int)(-Math.Log(1 - random.NextDouble()) * 2);
                var keep = Math.Max(0, parent.Length - drop);
                frames = parent[^keep..].ToList();
                var leaf = new List<Frame>();
                while (leaf.Count + frames.Count < Math.Max(depth, keep + 1)) leaf.Add(NewFrame(random));
                frames.InsertRange(0, leaf);
            }
            var array = frames.ToArray();
            if (seen.Add(string.Join(",", array.Select(f => f.Packed)))) stacks.Add(array);
        }
        return stacks.ToArray();
    }

    private static Frame NewFrame(Random random) => new(1 + random.Next(40), (ulong)random.Next(50_000) * 48);
}

/// <summary>
/// The naive stack store the stack table is compared with: every stack its own Frame[], found
/// again through a Dictionary keyed by the array's contents.
/// </summary>
public sealed class NaiveStackStore
{
    private readonly List<Frame[]> _stacks = [null!];
    private readonly Dictionary<Frame[], int> _ids = new(new FramesComparer());
    private readonly Dictionary<Frame[], int>.AlternateLookup<ReadOnlySpan<Frame>> _bySpan;

    public NaiveStackStore() => _bySpan = _ids.GetAlternateLookup<ReadOnlySpan<Frame>>();

    public int Count => _stacks.Count - 1;

    public int Intern(ReadOnlySpan<Frame> frames)
    {
        if (_bySpan.TryGetValue(frames, out var id)) return id;
        var array = frames.ToArray();
        id = _stacks.Count;
        _stacks.Add(array);
        _ids[array] = id;
        return id;
    }

    private sealed class FramesComparer : IEqualityComparer<Frame[]>, IAlternateEqualityComparer<ReadOnlySpan<Frame>, Frame[]>
    {
        public bool Equals(Frame[]? x, Frame[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(Frame[] frames) => Hash(frames);
        public bool Equals(ReadOnlySpan<Frame> alternate, Frame[] other) => alternate.SequenceEqual(other);
        public int GetHashCode(ReadOnlySpan<Frame> alternate) => Hash(alternate);
        public Frame[] Create(ReadOnlySpan<Frame> alternate) => alternate.ToArray();

        private static int Hash(ReadOnlySpan<Frame> frames)
        {
            var hash = new HashCode();
            foreach (var f in frames) hash.Add(f.Packed);
            return hash.ToHashCode();
        }
    }
}
