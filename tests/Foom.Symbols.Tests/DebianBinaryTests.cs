using Foom.Symbols.Elf;
using Foom.Symbols.Tests.Support;

namespace Foom.Symbols.Tests;

/// <summary>
/// Debian's own stripped programs and libraries (installed by .ci/run): every frame Foom names
/// must lie inside the symbol that names it, checked against the symbol table the binary ships
/// (readelf), at addresses spread over the whole of .text; and every address that a shipped
/// symbol holds must be named.
/// </summary>
public class DebianBinaryTests
{
    public static TheoryData<string> Binaries => new()
    {
        "/usr/bin/gawk",
        "/usr/bin/xz",
        "/usr/lib/x86_64-linux-gnu/liblzma.so.5",
        "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0",
        "/usr/bin/jq",
        "/usr/lib/x86_64-linux-gnu/libjq.so.1",
    };

    /// <summary>Addresses per binary: about one every few instructions in liblzma, spread evenly in the larger ones.</summary>
    private const int Samples = 40_000;

    [Theory]
    [MemberData(nameof(Binaries))]
    public void EveryNamedFrameLiesInsideItsShippedSymbolAndNoHeldAddressGoesUnnamed(string binary)
    {
        if (!File.Exists(binary))
            Assert.Fail($"{binary} is not installed: .ci/run installs gawk, xz-utils, sqlite3 and jq for this test");
        ElfSection text;
        List<(ulong Start, ulong End)> code;
        bool hasSymtab;
        using (var elf = ElfFile.Open(binary))
        {
            text = elf.Sections.Single(s => s.Name == ".text");
            code = elf.Sections.Where(s => s.IsExecutable && s.Size > 0).Select(s => (s.Address, s.Address + s.Size)).ToList();
            hasSymtab = elf.HasFullSymbolTable;
        }
        Assert.False(hasSymtab, $"{binary} is expected stripped, as Debian ships it");
        // xz and jq export no functions at all (their code is in liblzma and libjq): every frame
        // of theirs must stay unnamed.
        var shipped = new ShippedSymbols(binary, dynamic: true, code);

        var step = Math.Max(1UL, text.Size / Samples);
        var addresses = new List<ulong>();
        for (var address = text.Address; address < text.Address + text.Size; address += step) addresses.Add(address);
        var symbolizer = new Symbolizer(new SymbolizerOptions { DebugDirectories = [], ToolSearchPath = ToolSet.With() });
        var result = symbolizer.Symbolize(new SymbolizeRequest
        {
            Modules = [new ModuleInfo(binary, Native.ReadelfBuildId(binary))],
            Frames = addresses.Select(a => new FrameRef(0, a)).ToArray(),
        });
        Assert.Null(result.Modules[0].Problem);

        int named = 0, misleading = 0;
        var wrong = new List<string>();
        for (var i = 0; i < addresses.Count; i++)
        {
            var frame = result.Frames[i];
            var holders = shipped.Holding(addresses[i]);
            if (shipped.NearestBelowMisses(addresses[i])) misleading++;
            if (frame.Function is null)
            {
                if (holders.Count > 0) wrong.Add($"0x{addresses[i]:x} is held by {string.Join("/", holders)} but got no name ({frame.Problem})");
                else Assert.Contains("holds", frame.Problem);
                continue;
            }
            named++;
            if (!holders.Contains(frame.Function)) wrong.Add($"0x{addresses[i]:x} named {frame.Function}, but {(holders.Count == 0 ? "no shipped symbol holds it" : "it lies in " + string.Join("/", holders))}");
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {addresses.Count} frames in {binary} are misnamed:\n{string.Join("\n", wrong.Take(20))}");
        if (shipped.Count == 0) return;
        Assert.True(named > 0, $"no frame of {binary} was named");
        // The test means something: a nearest-symbol-below rule would have misnamed these.
        Assert.True(misleading > 0, $"no address in {binary} lies past the end of the symbol below it");
    }
}
