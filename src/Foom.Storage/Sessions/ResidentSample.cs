using System.Globalization;

namespace Foom.Storage.Sessions;

/// <summary>
/// One mapping of the process as /proc/PID/smaps lists it: its range and how much of it was in
/// RAM and in swap; for a mapping only partly resident, which of its pages were (<see cref="Runs"/>).
/// </summary>
public readonly record struct ResidentRange(ulong Start, ulong End, ulong ResidentBytes, ulong SwapBytes)
{
    public ulong Length => End - Start;

    /// <summary>The resident pages, as runs from /proc/PID/pagemap, sorted; null when not read (then residency is shared out by length).</summary>
    public ResidentRun[]? Runs { get; init; }
}

/// <summary>Pages [FirstPage, FirstPage + Pages) of a mapping, counted from its start, were resident.</summary>
public readonly record struct ResidentRun(ulong FirstPage, ulong Pages);

/// <summary>
/// What of a process's address space was resident at one moment, mapping by mapping, read from
/// /proc/PID/smaps. A mapping's recorded size is what it reserved; this is what it really held.
/// The recorder keeps the latest sample in the session directory (<see cref="FileName"/>) so that
/// a report made after the process died still shows the last-known resident bytes; a report of a
/// running process reads smaps itself.
/// </summary>
public sealed class ResidentSample
{
    public const string FileName = "resident.txt";
    private const string Magic = "# foom resident sample 1";
    public const int PageSize = 4096;
    /// <summary>Pages of partly resident mappings whose residency is read page by page, per sample (8 MiB of pagemap, 4 GiB of address space).</summary>
    public const long PagemapPageBudget = 1 << 20;
    /// <summary>A mapping resident in more pieces than this keeps no runs (its residency is shared out by length).</summary>
    public const int MaximumRuns = 4096;

    /// <summary>When smaps was read, in milliseconds since the Unix epoch.</summary>
    public required long TimeMilliseconds { get; init; }
    public required int Pid { get; init; }
    /// <summary>Why it was taken: "warning", "periodic", or "live" (read for a report while the process ran).</summary>
    public required string Reason { get; init; }
    /// <summary>The process's mappings, sorted by start, not overlapping.</summary>
    public required ResidentRange[] Ranges { get; init; }

    /// <summary>Reads of smaps that may disagree with themselves before the last one is repaired.</summary>
    private const int SmapsAttempts = 3;

    /// <summary>
    /// Reads /proc/PID/smaps; null when the process is gone or cannot be read (a zombie has no
    /// mappings left). The kernel lists the mappings a few at a time, so a process that maps and
    /// unmaps meanwhile can show a mapping grown over one already listed: such a reading is taken
    /// again, and the last one made consistent (<see cref="MakeConsistent"/>), so that every
    /// sample written is one <see cref="Read"/> accepts.
    /// </summary>
    public static ResidentSample? ReadProcess(int pid, string reason)
    {
        var time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        List<ResidentRange>? ranges = null;
        for (var attempt = 1; attempt <= SmapsAttempts; attempt++)
        {
            try
            {
                using var reader = new StreamReader($"/proc/{pid}/smaps", System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
                ranges = ParseSmaps(reader);
            }
            catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
            {
                return null;
            }
            if (ranges is null || !MakeConsistent(ranges, repair: attempt == SmapsAttempts)) break;
        }
        if (ranges is not { Count: > 0 }) return null;
        AddRuns(pid, ranges);
        return new ResidentSample { TimeMilliseconds = time, Pid = pid, Reason = reason, Ranges = [.. ranges] };
    }

    /// <summary>The mappings smaps lists, with their resident and swapped bytes; null when it is not smaps.</summary>
    internal static List<ResidentRange>? ParseSmaps(TextReader reader)
    {
        var ranges = new List<ResidentRange>();
        ulong start = 0, end = 0, resident = 0, swap = 0;
        var inRange = false;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            // A mapping's first line starts with its hexadecimal range; its fields start with a capital letter.
            if (char.IsAsciiHexDigitLower(line[0]) || char.IsAsciiDigit(line[0]))
            {
                if (inRange) ranges.Add(new ResidentRange(start, end, resident, swap));
                var dash = line.IndexOf('-');
                var space = line.IndexOf(' ');
                if (dash <= 0 || space <= dash
                    || !ulong.TryParse(line.AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out start)
                    || !ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out end))
                    return null;
                (resident, swap, inRange) = (0, 0, true);
            }
            else if (line.StartsWith("Rss:", StringComparison.Ordinal)) resident = Kilobytes(line);
            else if (line.StartsWith("Swap:", StringComparison.Ordinal)) swap = Kilobytes(line);
        }
        if (inRange) ranges.Add(new ResidentRange(start, end, resident, swap));
        return ranges;
    }

    /// <summary>
    /// Whether <paramref name="ranges"/> break what <see cref="Read"/> requires (each range
    /// non-empty, after the one before, holding no more resident bytes than its length). With
    /// <paramref name="repair"/>, they are made to hold it: a range listed again after it grew
    /// keeps only the part not listed before (its resident bytes shared out by length, at most
    /// that part's length), and a range left empty is dropped.
    /// </summary>
    internal static bool MakeConsistent(List<ResidentRange> ranges, bool repair)
    {
        var broken = false;
        ulong previousEnd = 0;
        for (var i = 0; i < ranges.Count; i++)
        {
            var range = ranges[i];
            if (range.End > range.Start && range.Start >= previousEnd && range.ResidentBytes <= range.Length)
            {
                previousEnd = range.End;
                continue;
            }
            broken = true;
            if (!repair) return true;
            var start = Math.Max(range.Start, previousEnd);
            if (range.End <= start)
            {
                ranges.RemoveAt(i--);
                continue;
            }
            var kept = range.End - start;
            var resident = Math.Min((ulong)((UInt128)range.ResidentBytes * kept / range.Length), kept);
            ranges[i] = new ResidentRange(start, range.End, resident, (ulong)((UInt128)range.SwapBytes * kept / range.Length));
            previousEnd = range.End;
        }
        return broken;
    }

    /// <summary>
    /// A kernel mapping often holds several of the program's mmaps (adjacent anonymous ones are
    /// merged): for each partly resident one, within <see cref="PagemapPageBudget"/>, which pages
    /// are resident, from /proc/PID/pagemap (bit 63 of each page's word), so that each mmap gets
    /// its own resident bytes. Wholly resident or wholly absent mappings need none.
    /// </summary>
    private static void AddRuns(int pid, List<ResidentRange> ranges)
    {
        FileStream pagemap;
        try
        {
            pagemap = new FileStream($"/proc/{pid}/pagemap", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return;
        }
        using (pagemap)
        {
            var budget = PagemapPageBudget;
            var words = new byte[8 * 8192];
            for (var i = 0; i < ranges.Count; i++)
            {
                var range = ranges[i];
                var pages = range.Length / PageSize;
                if (range.ResidentBytes == 0 || range.ResidentBytes >= range.Length || (long)pages > budget) continue;
                budget -= (long)pages;
                var runs = new List<ResidentRun>();
                ulong runStart = 0, runPages = 0;
                try
                {
                    for (ulong page = 0; page < pages && runs.Count <= MaximumRuns;)
                    {
                        var batch = (int)Math.Min(pages - page, (ulong)(words.Length / 8));
                        pagemap.Position = (long)((range.Start / PageSize + page) * 8);
                        pagemap.ReadExactly(words, 0, batch * 8);
                        for (var w = 0; w < batch; w++, page++)
                        {
                            if ((BitConverter.ToUInt64(words, w * 8) & (1UL << 63)) == 0) continue;
                            if (runPages > 0 && runStart + runPages == page) runPages++;
                            else
                            {
                                if (runPages > 0) runs.Add(new ResidentRun(runStart, runPages));
                                (runStart, runPages) = (page, 1);
                            }
                        }
                    }
                }
                catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
                {
                    return;
                }
                if (runPages > 0) runs.Add(new ResidentRun(runStart, runPages));
                if (runs.Count <= MaximumRuns) ranges[i] = range with { Runs = [.. runs] };
            }
        }
    }

    private static ulong Kilobytes(string line)
    {
        var value = line.AsSpan(line.IndexOf(':') + 1).Trim();
        if (value.EndsWith(" kB", StringComparison.Ordinal)) value = value[..^3];
        return ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var kib) ? kib * 1024 : 0;
    }

    /// <summary>
    /// The resident bytes of [start, start + length): exact for a range that covers whole
    /// mappings; where a kernel mapping holds more than the range (adjacent anonymous mmaps
    /// merged into one), its resident bytes are shared out by length.
    /// </summary>
    public long ResidentIn(ulong start, ulong length)
    {
        if (length == 0) return 0;
        var end = start + length;
        // The first mapping that ends after start.
        int low = 0, high = Ranges.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (Ranges[middle].End <= start) low = middle + 1;
            else high = middle;
        }
        UInt128 total = 0;
        for (var i = low; i < Ranges.Length && Ranges[i].Start < end; i++)
        {
            var range = Ranges[i];
            var from = Math.Max(start, range.Start);
            var to = Math.Min(end, range.End);
            var overlap = to - from;
            if (overlap == range.Length || range.ResidentBytes == 0) total += range.ResidentBytes;
            else if (range.Runs is { } runs) total += ResidentPages(runs, (from - range.Start) / PageSize, (to - range.Start + PageSize - 1) / PageSize) * PageSize;
            else total += (UInt128)range.ResidentBytes * overlap / range.Length;
        }
        return (long)total;
    }

    /// <summary>How many pages of [first, end) the runs hold.</summary>
    private static ulong ResidentPages(ResidentRun[] runs, ulong first, ulong end)
    {
        ulong pages = 0;
        foreach (var run in runs)
        {
            if (run.FirstPage >= end) break;
            var from = Math.Max(first, run.FirstPage);
            var to = Math.Min(end, run.FirstPage + run.Pages);
            if (to > from) pages += to - from;
        }
        return pages;
    }

    public static string PathIn(string sessionDirectory) => Path.Combine(sessionDirectory, FileName);

    /// <summary>Writes the sample atomically (a temporary file renamed over the old one): a kill leaves the old sample or the new one.</summary>
    public void Write(string sessionDirectory)
    {
        var path = PathIn(sessionDirectory);
        var temporary = Path.Combine(sessionDirectory, $".{FileName}.{Environment.ProcessId}.tmp");
        try
        {
            using (var writer = new StreamWriter(temporary, append: false))
            {
                writer.WriteLine(Magic);
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"time_ms {TimeMilliseconds}"));
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pid {Pid}"));
                writer.WriteLine($"reason {Reason}");
                writer.WriteLine("# start end resident_bytes swap_bytes [resident page runs: first+count,...]");
                foreach (var range in Ranges)
                {
                    writer.Write(string.Create(CultureInfo.InvariantCulture, $"{range.Start:x} {range.End:x} {range.ResidentBytes} {range.SwapBytes}"));
                    if (range.Runs is { } runs)
                    {
                        writer.Write(' ');
                        for (var r = 0; r < runs.Length; r++)
                            writer.Write(string.Create(CultureInfo.InvariantCulture, $"{(r == 0 ? "" : ",")}{runs[r].FirstPage}+{runs[r].Pages}"));
                    }
                    writer.WriteLine();
                }
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>The session's last sample; null when it has none. A damaged file is a <see cref="SessionFormatException"/> naming the line.</summary>
    public static ResidentSample? Read(string sessionDirectory)
    {
        var path = PathIn(sessionDirectory);
        if (!File.Exists(path)) return null;
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            throw new SessionFormatException(path, $"cannot be read: {problem.Message}", problem);
        }
        if (lines.Length == 0 || lines[0] != Magic) throw new SessionFormatException(path, $"line 1: not a resident sample (expected \"{Magic}\")");
        long Field(int index, string name)
        {
            if (index >= lines.Length) throw new SessionFormatException(path, $"line {index + 1}: expected \"{name} NUMBER\", but the file ends (truncated)");
            var parts = lines[index].Split(' ');
            if (parts.Length != 2 || parts[0] != name || !long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
                throw new SessionFormatException(path, $"line {index + 1}: expected \"{name} NUMBER\", found \"{Shorten(lines[index])}\"");
            return value;
        }
        var time = Field(1, "time_ms");
        var pid = Field(2, "pid");
        if (lines.Length < 4 || !lines[3].StartsWith("reason ", StringComparison.Ordinal)) throw new SessionFormatException(path, "line 4: expected \"reason WORD\"");
        var ranges = new List<ResidentRange>(lines.Length);
        for (var i = 4; i < lines.Length; i++)
        {
            if (lines[i].Length == 0 || lines[i][0] == '#') continue;
            var parts = lines[i].Split(' ');
            if (parts.Length is < 4 or > 5
                || !ulong.TryParse(parts[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
                || !ulong.TryParse(parts[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end)
                || !ulong.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var resident)
                || !ulong.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var swap))
                throw new SessionFormatException(path, $"line {i + 1}: expected \"START END RESIDENT SWAP [RUNS]\" (hex, hex, bytes, bytes, FIRST+COUNT,...), found \"{Shorten(lines[i])}\"");
            ResidentRun[] ParseRuns(string text, ulong pages)
            {
                var runs = new List<ResidentRun>();
                foreach (var run in text.Split(','))
                {
                    var plus = run.IndexOf('+');
                    if (plus <= 0
                        || !ulong.TryParse(run.AsSpan(0, plus), NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                        || !ulong.TryParse(run.AsSpan(plus + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
                        || count == 0 || first + count > pages || (runs.Count > 0 && first < runs[^1].FirstPage + runs[^1].Pages))
                        throw new SessionFormatException(path, $"line {i + 1}: the resident page run \"{Shorten(run)}\" is not FIRST+COUNT, in order, within the range's {pages} pages");
                    runs.Add(new ResidentRun(first, count));
                }
                return [.. runs];
            }
            if (end <= start || resident > end - start || (ranges.Count > 0 && start < ranges[^1].End))
                throw new SessionFormatException(path, $"line {i + 1}: the range {start:x}-{end:x} is empty, overlaps the one before, or holds more resident bytes than its length");
            ranges.Add(new ResidentRange(start, end, resident, swap) { Runs = parts.Length == 5 ? ParseRuns(parts[4], (end - start) / PageSize) : null });
        }
        return new ResidentSample { TimeMilliseconds = time, Pid = (int)pid, Reason = lines[3][7..], Ranges = [.. ranges] };
    }

    private static string Shorten(string line) => line.Length <= 60 ? line : line[..60] + "...";
}
