using System.Globalization;
using System.Text;

namespace Foom.Symbols.Jit;

/// <summary>A JIT symbol from a perf map, and where a pc falls in it.</summary>
public readonly record struct PerfMapMatch(string Name, ulong Start, ulong Size, ulong Offset);

/// <summary>
/// A perf map (<c>/tmp/perf-PID.map</c>, written by .NET with <c>DOTNET_PerfMapEnabled=1</c> and
/// by Python 3.12+ with <c>-X perf</c>): one line per piece of generated code, <c>START SIZE
/// name</c> with START and SIZE in hex. It names pcs that lie in no module. When code ranges
/// overlap (a runtime reused memory for newer code), the later line wins. Malformed lines are
/// skipped and counted, never fatal.
/// </summary>
public sealed class PerfMap
{
    /// <summary>How many malformed lines are described in <see cref="Problems"/>; the rest are only counted.</summary>
    private const int MaxProblemsKept = 10;

    private readonly Segment[] _segments;
    private readonly Entry[] _entries;

    private PerfMap(string source, Entry[] entries, Segment[] segments, int malformed, List<string> problems)
    {
        Source = source;
        _entries = entries;
        _segments = segments;
        MalformedLines = malformed;
        Problems = problems;
    }

    /// <summary>
    /// Whether the perf map at <paramref name="path"/> was written since <paramref name="programStarted"/>,
    /// so by that program and not by an earlier process with the same pid. A second of slack
    /// covers the coarse clock of file timestamps; a pid does not come round again within it.
    /// </summary>
    public static bool WrittenSince(string path, DateTime programStarted)
    {
        var written = File.GetLastWriteTimeUtc(path);
        // A missing file reads as 1601-01-01: not written since.
        return written >= programStarted.ToUniversalTime() - TimeSpan.FromSeconds(1);
    }

    /// <summary>The file the map was read from.</summary>
    public string Source { get; }

    /// <summary>Well-formed entries read.</summary>
    public int Count => _entries.Length;

    public int MalformedLines { get; }

    /// <summary>The first malformed lines, as "FILE line N: what is wrong".</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Reads a perf map from any path (the recorder copies the target's map into its session).</summary>
    public static PerfMap Read(string path)
    {
        try
        {
            using var reader = new StreamReader(path, new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: false);
            return Parse(reader, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SymbolFileException(path, e is FileNotFoundException or DirectoryNotFoundException ? "the perf map does not exist" : $"cannot read the perf map: {e.Message}", e);
        }
    }

    public static PerfMap Parse(TextReader reader, string source)
    {
        var entries = new List<Entry>();
        var problems = new List<string>();
        var malformed = 0;
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0) continue;
            var problem = TryParseLine(line, out var start, out var size, out var name);
            if (problem == null)
            {
                entries.Add(new Entry(start, size, name!));
                continue;
            }
            malformed++;
            if (problems.Count < MaxProblemsKept) problems.Add($"{source} line {lineNumber}: {problem}");
        }
        return new PerfMap(source, [.. entries], BuildSegments(entries), malformed, problems);
    }

    /// <summary>The JIT symbol whose code holds <paramref name="pc"/>, or null.</summary>
    public PerfMapMatch? Lookup(ulong pc)
    {
        int low = 0, high = _segments.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            ref readonly var segment = ref _segments[middle];
            if (pc < segment.Start) high = middle - 1;
            else if (pc >= segment.End) low = middle + 1;
            else
            {
                var entry = _entries[segment.Entry];
                return new PerfMapMatch(entry.Name, entry.Start, entry.Size, pc - entry.Start);
            }
        }
        return null;
    }

    private static string? TryParseLine(string line, out ulong start, out ulong size, out string? name)
    {
        start = size = 0;
        name = null;
        var text = line.AsSpan().Trim();
        var firstSpace = text.IndexOfAny(' ', '\t');
        if (firstSpace < 0) return "expected 'START SIZE name'";
        if (!TryParseHex(text[..firstSpace], out start)) return $"start '{Clip(text[..firstSpace])}' is not hex";
        var rest = text[firstSpace..].TrimStart();
        var secondSpace = rest.IndexOfAny(' ', '\t');
        if (secondSpace < 0) return "expected 'START SIZE name'";
        if (!TryParseHex(rest[..secondSpace], out size)) return $"size '{Clip(rest[..secondSpace])}' is not hex";
        if (size == 0) return "size is 0";
        if (size > ulong.MaxValue - start) return "start + size overflows";
        var nameText = rest[secondSpace..].Trim();
        if (nameText.IsEmpty) return "the name is missing";
        if (nameText.ContainsAny('\0', '\uFFFD')) return "the name holds bytes that are not text";
        name = nameText.ToString();
        return null;
    }

    private static bool TryParseHex(ReadOnlySpan<char> text, out ulong value)
    {
        if (text.StartsWith("0x") || text.StartsWith("0X")) text = text[2..];
        return ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && text.Length > 0;
    }

    /// <summary>A piece of a bad line fit to quote in a message: at most 40 characters, anything not printable as '?'.</summary>
    private static string Clip(ReadOnlySpan<char> text)
    {
        var clipped = text.Length > 40 ? text[..40] : text;
        var printable = string.Create(clipped.Length, clipped.ToString(), (span, source) =>
        {
            for (var i = 0; i < span.Length; i++)
                span[i] = char.IsControl(source[i]) || char.IsSurrogate(source[i]) || source[i] == '\uFFFD' ? '?' : source[i];
        });
        return text.Length > 40 ? printable + "…" : printable;
    }

    /// <summary>
    /// Cuts the (possibly overlapping) entries into disjoint segments, each owned by the latest
    /// entry that covers it, so a lookup is one binary search. A sweep over the sorted boundaries
    /// with a heap of the entries open at each point: O(n log n).
    /// </summary>
    private static Segment[] BuildSegments(List<Entry> entries)
    {
        if (entries.Count == 0) return [];
        var order = Enumerable.Range(0, entries.Count).OrderBy(i => entries[i].Start).ToArray();
        var boundaries = new SortedSet<ulong>();
        foreach (var e in entries) { boundaries.Add(e.Start); boundaries.Add(e.Start + e.Size); }

        var open = new PriorityQueue<int, int>(Comparer<int>.Create((a, b) => b.CompareTo(a))); // latest line first
        var segments = new List<Segment>();
        var next = 0;
        ulong? previous = null;
        foreach (var point in boundaries)
        {
            if (previous is { } from)
            {
                while (open.TryPeek(out var top, out _) && entries[top].Start + entries[top].Size <= from) open.Dequeue();
                if (open.TryPeek(out var owner, out _))
                {
                    if (segments.Count > 0 && segments[^1].Entry == owner && segments[^1].End == from)
                        segments[^1] = segments[^1] with { End = point };
                    else
                        segments.Add(new Segment(from, point, owner));
                }
            }
            while (next < order.Length && entries[order[next]].Start == point) { open.Enqueue(order[next], order[next]); next++; }
            previous = point;
        }
        return [.. segments];
    }

    private readonly record struct Entry(ulong Start, ulong Size, string Name);

    private readonly record struct Segment(ulong Start, ulong End, int Entry);
}
