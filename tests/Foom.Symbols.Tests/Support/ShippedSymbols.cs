namespace Foom.Symbols.Tests.Support;

/// <summary>
/// The function symbols a binary ships with, as <c>readelf -W --syms</c> (or <c>--dyn-syms</c>)
/// prints them, and the containment rule applied to them independently of Foom's reader: a
/// symbol holds [value, value + size), an unsized one up to the next symbol's start within the
/// section that holds it.
/// </summary>
public sealed class ShippedSymbols
{
    private readonly List<(ulong Start, ulong End, HashSet<string> Names)> _ranges = [];

    public ShippedSymbols(string binary, bool dynamic, IReadOnlyList<(ulong Start, ulong End)> codeSections)
    {
        var byStart = new SortedDictionary<ulong, (ulong Size, HashSet<string> Names)>();
        foreach (var line in Native.Run("readelf", $"-W {(dynamic ? "--dyn-syms" : "--syms")} \"{binary}\"").Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 8 || parts[3] is not ("FUNC" or "IFUNC") || parts[6] == "UND") continue;
            var start = Convert.ToUInt64(parts[1], 16);
            var size = parts[2].StartsWith("0x", StringComparison.Ordinal) ? Convert.ToUInt64(parts[2][2..], 16) : ulong.Parse(parts[2]);
            if (start == 0) continue;
            var name = parts[7].Split('@')[0];
            if (!byStart.TryGetValue(start, out var entry)) byStart[start] = entry = (size, []);
            entry.Names.Add(name);
            if (size > entry.Size) byStart[start] = entry with { Size = size };
        }
        var starts = byStart.Keys.ToList();
        for (var i = 0; i < starts.Count; i++)
        {
            var (size, names) = byStart[starts[i]];
            var section = codeSections.FirstOrDefault(s => starts[i] >= s.Start && starts[i] < s.End);
            ulong end;
            if (size > 0) end = starts[i] + size;
            else if (section == default) end = starts[i];
            else end = Math.Min(i + 1 < starts.Count ? starts[i + 1] : ulong.MaxValue, section.End);
            _ranges.Add((starts[i], end, names));
        }
    }

    public int Count => _ranges.Count;

    /// <summary>The names of the symbol(s) at one start that hold <paramref name="address"/>; empty when none does.</summary>
    public IReadOnlySet<string> Holding(ulong address)
    {
        foreach (var (start, end, names) in _ranges)
            if (address >= start && address < end) return names;
        return new HashSet<string>();
    }

    /// <summary>Whether the nearest symbol starting at or below <paramref name="address"/> does not hold it (the address a nearest-below rule would misname).</summary>
    public bool NearestBelowMisses(ulong address)
    {
        var nearest = _ranges.FindLastIndex(r => r.Start <= address);
        return nearest >= 0 && address >= _ranges[nearest].End && Holding(address).Count == 0;
    }
}
