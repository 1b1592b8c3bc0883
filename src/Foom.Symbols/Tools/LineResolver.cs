using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Foom.Symbols.Tools;

/// <summary>
/// File and line for addresses of one binary, from its DWARF, by llvm-symbolizer (preferred, in
/// JSON when the installed version has it) or addr2line: one process per binary, all addresses
/// on stdin. Foom does not parse DWARF itself.
/// </summary>
internal sealed class LineResolver
{
    public enum Kind { LlvmSymbolizerJson, LlvmSymbolizerText, Addr2Line }

    private LineResolver(string toolPath, Kind kind)
    {
        ToolPath = toolPath;
        ToolKind = kind;
    }

    public string ToolPath { get; }
    public Kind ToolKind { get; }
    public string ToolName => Path.GetFileName(ToolPath);

    /// <summary>Whether the tool reads Mach-O (addr2line from binutils does not, here).</summary>
    public bool ReadsMachO => ToolKind != Kind.Addr2Line;

    /// <summary>llvm-symbolizer, else addr2line, from <paramref name="searchPath"/>; null when neither is there.</summary>
    public static LineResolver? Find(string? searchPath)
    {
        var llvm = ToolRunner.Find(searchPath, "llvm-symbolizer");
        if (llvm != null) return new LineResolver(llvm, SupportsJson(llvm) ? Kind.LlvmSymbolizerJson : Kind.LlvmSymbolizerText);
        var addr2line = ToolRunner.Find(searchPath, "addr2line");
        return addr2line != null ? new LineResolver(addr2line, Kind.Addr2Line) : null;
    }

    /// <summary>The same tool, forced to another output style (tests use this to cover the text parser).</summary>
    internal LineResolver WithKind(Kind kind) => new(ToolPath, kind);

    private static bool SupportsJson(string llvmSymbolizer)
    {
        var help = ToolRunner.RunAsync(llvmSymbolizer, ["--help"], "", TimeSpan.FromSeconds(30), CancellationToken.None).GetAwaiter().GetResult();
        return help.Output.Contains("JSON", StringComparison.Ordinal);
    }

    public sealed record Batch(SourceLocation[][]? Locations, string? Problem);

    /// <summary>
    /// Resolves <paramref name="addresses"/> (virtual addresses of <paramref name="debugFile"/>);
    /// each result is the inline chain, innermost first, empty when the tool knows nothing.
    /// <paramref name="architecture"/> picks the slice of a universal Mach-O file.
    /// </summary>
    public async Task<Batch> ResolveAsync(string debugFile, IReadOnlyList<ulong> addresses, string? architecture, TimeSpan timeout, CancellationToken cancellation)
    {
        if (addresses.Count == 0) return new Batch([], null);
        var input = new StringBuilder(addresses.Count * 20);
        foreach (var address in addresses) input.Append("0x").Append(address.ToString("x", CultureInfo.InvariantCulture)).Append('\n');

        List<string> arguments = ToolKind switch
        {
            Kind.LlvmSymbolizerJson => ["--output-style=JSON", "--inlining", "--demangle", "--obj=" + debugFile],
            Kind.LlvmSymbolizerText => ["--output-style=LLVM", "--inlining", "--demangle", "--obj=" + debugFile],
            _ => ["--addresses", "--functions", "--demangle", "--inlines", "-e", debugFile],
        };
        if (architecture != null && ToolKind != Kind.Addr2Line) arguments.Add("--default-arch=" + architecture);

        var outcome = await ToolRunner.RunAsync(ToolPath, arguments, input.ToString(), timeout, cancellation);
        if (outcome.Problem != null) return new Batch(null, outcome.Problem);
        try
        {
            var parsed = ToolKind switch
            {
                Kind.LlvmSymbolizerJson => ParseJson(outcome.Output, addresses.Count),
                Kind.LlvmSymbolizerText => ParseLlvmText(outcome.Output, addresses.Count),
                _ => ParseAddr2Line(outcome.Output, addresses),
            };
            return new Batch(parsed, null);
        }
        catch (FormatException e)
        {
            return new Batch(null, $"{ToolName} printed output Foom does not understand: {e.Message}");
        }
    }

    /// <summary>One JSON object per input line: {"Address":..,"Symbol":[{FunctionName,FileName,Line},..]}.</summary>
    internal static SourceLocation[][] ParseJson(string output, int expected)
    {
        var results = new List<SourceLocation[]>(expected);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            JsonDocument document;
            try { document = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new FormatException($"line {results.Count + 1} is not JSON ({e.Message})"); }
            using (document)
            {
                var chain = new List<SourceLocation>();
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("Symbol", out var symbols) && symbols.ValueKind == JsonValueKind.Array)
                {
                    foreach (var symbol in symbols.EnumerateArray())
                    {
                        var location = Location(
                            symbol.TryGetProperty("FunctionName", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null,
                            symbol.TryGetProperty("FileName", out var file) && file.ValueKind == JsonValueKind.String ? file.GetString() : null,
                            symbol.TryGetProperty("Line", out var l) && l.ValueKind == JsonValueKind.Number && l.TryGetInt32(out var n) ? n : 0);
                        if (location != null) chain.Add(location);
                    }
                }
                results.Add([.. chain]);
            }
        }
        if (results.Count != expected) throw new FormatException($"{results.Count} answers for {expected} addresses");
        return [.. results];
    }

    /// <summary>LLVM style: per address, pairs of "function" and "file:line:column" lines, then a blank line.</summary>
    internal static SourceLocation[][] ParseLlvmText(string output, int expected)
    {
        var results = new List<SourceLocation[]>(expected);
        foreach (var block in output.Replace("\r", "").Split("\n\n"))
        {
            var lines = block.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length == 0) continue;
            var chain = new List<SourceLocation>();
            for (var i = 0; i + 1 < lines.Length; i += 2)
            {
                var (file, line) = SplitFileLine(lines[i + 1], columns: true);
                var location = Location(lines[i], file, line);
                if (location != null) chain.Add(location);
            }
            results.Add([.. chain]);
        }
        if (results.Count != expected) throw new FormatException($"{results.Count} answers for {expected} addresses");
        return [.. results];
    }

    /// <summary>
    /// addr2line -a -f -C -i: the address, then pairs of "function" and "file:line" lines (more
    /// than one pair when inlined). A new address starts where the next expected address appears
    /// at a pair boundary.
    /// </summary>
    internal static SourceLocation[][] ParseAddr2Line(string output, IReadOnlyList<ulong> addresses)
    {
        var lines = output.Replace("\r", "").Split('\n');
        var results = new SourceLocation[addresses.Count][];
        var position = 0;
        for (var index = 0; index < addresses.Count; index++)
        {
            while (position < lines.Length && lines[position].Length == 0) position++;
            if (position >= lines.Length || ParseHex(lines[position]) != addresses[index])
                throw new FormatException($"expected address 0x{addresses[index]:x} at output line {position + 1}");
            position++;
            var chain = new List<SourceLocation>();
            while (position + 1 < lines.Length && !(index + 1 < addresses.Count && ParseHex(lines[position]) == addresses[index + 1]))
            {
                if (lines[position].Length == 0 && lines[position + 1].Length == 0) break;
                var (file, line) = SplitFileLine(lines[position + 1], columns: false);
                var location = Location(lines[position], file, line);
                if (location != null) chain.Add(location);
                position += 2;
            }
            results[index] = [.. chain];
        }
        return results;
    }

    private static ulong? ParseHex(string text) =>
        text.StartsWith("0x", StringComparison.Ordinal) && ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>"file:line", "file:line:column", "file:line (discriminator 3)", "??:0", "??:?".</summary>
    private static (string? File, int Line) SplitFileLine(string text, bool columns)
    {
        var discriminator = text.IndexOf(" (discriminator", StringComparison.Ordinal);
        if (discriminator >= 0) text = text[..discriminator];
        var parts = text.Split(':');
        var lineIndex = columns && parts.Length >= 3 ? parts.Length - 2 : parts.Length - 1;
        if (parts.Length < 2) return (null, 0);
        var file = string.Join(':', parts[..lineIndex]);
        int.TryParse(parts[lineIndex], NumberStyles.None, CultureInfo.InvariantCulture, out var line);
        return (file, line);
    }

    private static SourceLocation? Location(string? function, string? file, int line)
    {
        if (function is "" or "??") function = null;
        if (file is "" or "??") file = null;
        if (function == null && file == null) return null;
        return new SourceLocation(function, file, file != null && line > 0 ? line : null);
    }
}
