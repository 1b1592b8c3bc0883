using System.Text;

namespace Foom.Symbols;

/// <summary>A function symbol that holds an address, and where the address falls in it.</summary>
/// <param name="Name">The symbol's name as stored in the binary (mangled for C++).</param>
/// <param name="Start">The function's first address.</param>
/// <param name="Size">Its size in bytes as the binary gives it (0 when the binary did not say; it
/// then runs to the next symbol within its code section).</param>
/// <param name="Offset">The looked-up address minus <paramref name="Start"/>.</param>
public readonly record struct SymbolMatch(string Name, ulong Start, ulong Size, ulong Offset);

/// <summary>
/// The function symbols of one binary, sorted by address once so that each lookup is a binary
/// search. Names stay as UTF-8 bytes in one shared array and become strings only when looked up:
/// a large library has hundreds of thousands of symbols and a report names a few thousand.
/// </summary>
/// <remarks>
/// A symbol names an address only when it contains it: within its st_size, or, for a symbol
/// without a size, before the next symbol's start within its code section. A stripped binary's
/// .dynsym lists only exported functions; the nearest one below an address in a static function
/// is a wrong name (gawk's allocations read <c>error</c>, 5,788 bytes past that 214-byte
/// function), so such an address gets no name, and <see cref="NearestBelow"/> only explains why.
/// </remarks>
public sealed class SymbolTable
{
    /// <summary>How far back a lookup walks when the nearest symbol does not contain the address,
    /// looking for an enclosing one (a function with a nested local symbol, for example).</summary>
    private const int EnclosingSearchDepth = 16;

    private readonly Entry[] _entries;
    private readonly byte[] _names;

    internal SymbolTable(Entry[] entries, byte[] names, int skippedEntries)
    {
        _entries = entries;
        _names = names;
        SkippedEntries = skippedEntries;
    }

    public static SymbolTable Empty { get; } = new([], [], 0);

    /// <summary>How many function symbols there are (after merging aliases at one address).</summary>
    public int Count => _entries.Length;

    /// <summary>Entries of the binary's tables that were malformed (a name outside the string
    /// table, for example) and left out.</summary>
    public int SkippedEntries { get; }

    /// <summary>The symbol that contains <paramref name="address"/>, with the offset into it; null when none does.</summary>
    public SymbolMatch? Lookup(ulong address)
    {
        var index = LastStartAtOrBelow(address);
        if (index < 0) return null;
        for (var i = index; i >= 0 && i >= index - EnclosingSearchDepth; i--)
        {
            if (Contains(_entries[i], address)) return Match(_entries[i], address);
        }
        return null;
    }

    /// <summary>
    /// The nearest symbol that starts at or below <paramref name="address"/> in the same code
    /// section, whether or not it contains it: only to say which name a frame did not get and why.
    /// </summary>
    public SymbolMatch? NearestBelow(ulong address)
    {
        var index = LastStartAtOrBelow(address);
        return index >= 0 && address < _entries[index].RegionEnd ? Match(_entries[index], address) : null;
    }

    /// <summary>Every symbol in address order with the end it is given (for tests and tools).</summary>
    public IEnumerable<(string Name, ulong Start, ulong Size, ulong End)> Symbols()
    {
        for (var i = 0; i < _entries.Length; i++) yield return (NameOf(_entries[i]), _entries[i].Start, _entries[i].Size, _entries[i].End);
    }

    private static bool Contains(in Entry entry, ulong address) => address >= entry.Start && address < entry.End;

    private SymbolMatch Match(in Entry entry, ulong address) =>
        new(NameOf(entry), entry.Start, entry.Size, address - entry.Start);

    private string NameOf(in Entry entry) => Encoding.UTF8.GetString(_names, entry.NameOffset, entry.NameLength);

    private int LastStartAtOrBelow(ulong address)
    {
        int low = 0, high = _entries.Length - 1, found = -1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            if (_entries[middle].Start <= address) { found = middle; low = middle + 1; }
            else high = middle - 1;
        }
        return found;
    }

    /// <summary>One function. End is where it stops holding addresses: Start + Size, or for an
    /// unsized symbol the next symbol's start, never past RegionEnd, the end of the code section
    /// that holds it (0 when no code section does: an unsized symbol there holds nothing).</summary>
    internal readonly record struct Entry(ulong Start, ulong Size, ulong End, ulong RegionEnd, int NameOffset, int NameLength);
}

/// <summary>
/// Collects function symbols from one or more tables (.symtab and .dynsym; nlist) and builds the
/// sorted <see cref="SymbolTable"/>. Aliases at one address are merged into the best name.
/// </summary>
internal sealed class SymbolTableBuilder
{
    private readonly List<byte[]> _blobs = [];
    private readonly List<Candidate> _candidates = [];
    private int _skipped;

    /// <summary>Registers a string table; returns the id that <see cref="Add"/> refers to.</summary>
    public int AddNames(byte[] stringTable)
    {
        _blobs.Add(stringTable);
        return _blobs.Count - 1;
    }

    /// <summary>Counts an entry that was left out because it was malformed.</summary>
    public void Skip() => _skipped++;

    /// <param name="rank">Higher wins among aliases at the same address (global over weak over local).</param>
    public void Add(ulong start, ulong size, ulong regionEnd, int blob, int nameOffset, int nameLength, int rank)
    {
        if (nameLength == 0) { _skipped++; return; }
        if (size > ulong.MaxValue - start) size = ulong.MaxValue - start; // a corrupt size must not wrap around
        _candidates.Add(new Candidate(start, size, Math.Max(regionEnd, start + size), blob, nameOffset, nameLength, rank));
    }

    public SymbolTable Build()
    {
        _candidates.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : Better(b, a));
        var offsets = new int[_blobs.Count];
        long total = 0;
        for (var i = 0; i < _blobs.Count; i++) { offsets[i] = (int)total; total += _blobs[i].Length; }
        if (total > int.MaxValue) throw new InvalidOperationException("string tables larger than 2 GiB");
        var names = new byte[total];
        for (var i = 0; i < _blobs.Count; i++) _blobs[i].CopyTo(names, offsets[i]);

        var entries = new List<SymbolTable.Entry>(_candidates.Count);
        foreach (var c in _candidates)
        {
            // Sorted best-first within one address: the first one seen names the address.
            if (entries.Count > 0 && entries[^1].Start == c.Start) continue;
            entries.Add(new SymbolTable.Entry(c.Start, c.Size, c.Start + c.Size, c.RegionEnd, offsets[c.Blob] + c.NameOffset, c.NameLength));
        }
        // An unsized symbol runs to the next symbol's start within its code section.
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Size > 0) continue;
            var end = i + 1 < entries.Count ? Math.Min(entries[i + 1].Start, entries[i].RegionEnd) : entries[i].RegionEnd;
            entries[i] = entries[i] with { End = Math.Max(end, entries[i].Start) };
        }
        return new SymbolTable([.. entries], names, _skipped);
    }

    /// <summary>Positive when <paramref name="a"/> is the better name for their shared address.</summary>
    private int Better(in Candidate a, in Candidate b)
    {
        if ((a.Size > 0) != (b.Size > 0)) return a.Size > 0 ? 1 : -1;
        if (a.Rank != b.Rank) return a.Rank.CompareTo(b.Rank);
        // malloc over __libc_malloc: the fewer leading underscores, the more public the name.
        var underscores = LeadingUnderscores(b).CompareTo(LeadingUnderscores(a));
        if (underscores != 0) return underscores;
        var length = b.NameLength.CompareTo(a.NameLength);
        if (length != 0) return length;
        // Deterministic among equals, whatever order the tables listed them in.
        return _blobs[b.Blob].AsSpan(b.NameOffset, b.NameLength).SequenceCompareTo(_blobs[a.Blob].AsSpan(a.NameOffset, a.NameLength));
    }

    private int LeadingUnderscores(in Candidate c)
    {
        var blob = _blobs[c.Blob];
        var n = 0;
        while (n < c.NameLength && blob[c.NameOffset + n] == (byte)'_') n++;
        return n;
    }

    private readonly record struct Candidate(ulong Start, ulong Size, ulong RegionEnd, int Blob, int NameOffset, int NameLength, int Rank);
}
