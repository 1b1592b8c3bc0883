using Foom.Symbols.Elf;
using Foom.Symbols.Tests.Support;

namespace Foom.Symbols.Tests;

public class ElfFileTests
{
    public static TheoryData<string> BinaryKinds => new()
    {
        "pie -g", "pie", "no-pie -g", "no-pie", "shared -g", "shared stripped", "pie stripped",
    };

    /// <summary>Builds functions.c or libshapes.c in the named way.</summary>
    internal static string BuildKind(string kind)
    {
        var binary = kind.Split(' ')[0] switch
        {
            "pie" => Native.Compile("functions.c", "-O1 -fPIE -pie" + (kind.Contains("-g") ? " -g" : "")),
            "no-pie" => Native.Compile("functions.c", "-O1 -fno-pie -no-pie" + (kind.Contains("-g") ? " -g" : "")),
            "shared" => Native.Compile("libshapes.c", "-O1 -shared -fPIC" + (kind.Contains("-g") ? " -g" : "")),
            _ => throw new ArgumentException(kind),
        };
        return kind.Contains("stripped") ? Native.Strip(binary) : binary;
    }

    [Theory]
    [MemberData(nameof(BinaryKinds))]
    public void BuildIdIsTheOneReadelfPrints(string kind)
    {
        var binary = BuildKind(kind);
        using var elf = ElfFile.Open(binary);
        var expected = Native.ReadelfBuildId(binary);
        Assert.NotNull(expected);
        Assert.Equal(expected, elf.BuildId);
    }

    [Fact]
    public void BuildIdOfTheSystemCLibraryIsTheOneReadelfPrints()
    {
        var libc = new[] { "/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6" }.First(File.Exists);
        using var elf = ElfFile.Open(libc);
        Assert.Equal(Native.ReadelfBuildId(libc), elf.BuildId);
        Assert.True(elf.HasDynamicSymbols);
        var symbols = elf.ReadFunctionSymbols();
        var malloc = Native.NmFunctions(libc, dynamic: true).First(f => f.Name == "malloc");
        var match = symbols.Lookup(malloc.Address + 1);
        Assert.NotNull(match);
        Assert.Equal("malloc", match.Value.Name);
        Assert.Equal(1UL, match.Value.Offset);
    }

    [Fact]
    public void BuildIdIsFoundInThePtNoteSegmentWhenSectionHeadersAreGone()
    {
        var binary = BuildKind("pie");
        var bytes = File.ReadAllBytes(binary);
        // As sstrip leaves a file: no section header table at all (e_shoff, e_shnum, e_shstrndx zeroed).
        Array.Clear(bytes, 40, 8);
        Array.Clear(bytes, 60, 4);
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, bytes);
            using var elf = ElfFile.Open(path);
            Assert.Empty(elf.Sections);
            Assert.Contains(elf.Segments, s => s.Type == 4);
            Assert.Equal(Native.ReadelfBuildId(binary), elf.BuildId);
            Assert.Equal(0, elf.ReadFunctionSymbols().Count);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void FileWithoutBuildIdHasNone()
    {
        var binary = Native.Compile("functions.c", "-O1 -Wl,--build-id=none");
        using var elf = ElfFile.Open(binary);
        Assert.Null(Native.ReadelfBuildId(binary));
        Assert.Null(elf.BuildId);
    }

    [Theory]
    [InlineData("pie -g")]
    [InlineData("no-pie")]
    [InlineData("shared -g")]
    public void EveryFunctionIsNamedAtItsStartMiddleAndLastByte(string kind)
    {
        var binary = BuildKind(kind);
        using var elf = ElfFile.Open(binary);
        var symbols = elf.ReadFunctionSymbols();
        var functions = Native.NmFunctions(binary).Where(f => f.Size > 0).ToList();
        Assert.NotEmpty(functions);
        foreach (var (name, address, size) in functions)
        {
            foreach (var offset in new[] { 0UL, size / 2, size - 1 })
            {
                var match = symbols.Lookup(address + offset);
                Assert.True(match.HasValue, $"{name}+{offset} has no name");
                // Aliases share an address: the name chosen must be one of the names nm lists there.
                var aliases = functions.Where(f => f.Address == address).Select(f => f.Name).ToList();
                Assert.Contains(match.Value.Name, aliases);
                Assert.Equal(offset, match.Value.Offset);
            }
        }
    }

    [Fact]
    public void NonPieExecutableUsesAbsoluteAddressesAndPieStartsNearZero()
    {
        using var nonPie = ElfFile.Open(BuildKind("no-pie"));
        using var pie = ElfFile.Open(BuildKind("pie"));
        Assert.Equal(2, nonPie.FileType);
        Assert.Equal(3, pie.FileType);
        var nonPieMain = nonPie.ReadFunctionSymbols().Symbols().Single(s => s.Name == "main");
        var pieMain = pie.ReadFunctionSymbols().Symbols().Single(s => s.Name == "main");
        Assert.True(nonPieMain.Start >= 0x400000, $"non-PIE main at 0x{nonPieMain.Start:x}");
        Assert.True(pieMain.Start < 0x400000, $"PIE main at 0x{pieMain.Start:x}");
    }

    [Fact]
    public void StrippedLibraryStillNamesExportedFunctionsFromDynsym()
    {
        var full = BuildKind("shared -g");
        var stripped = BuildKind("shared stripped");
        using var elf = ElfFile.Open(stripped);
        Assert.False(elf.HasFullSymbolTable);
        Assert.True(elf.HasDynamicSymbols);
        var symbols = elf.ReadFunctionSymbols();
        var exported = Native.NmFunctions(stripped, dynamic: true).Single(f => f.Name == "shapes_square_area");
        var match = symbols.Lookup(exported.Address + 3)!.Value;
        Assert.Equal("shapes_square_area", match.Name);
        Assert.Equal(3UL, match.Offset);
        // The static function is gone from the stripped file: its address gets no name, never
        // an exported function below it.
        var hidden = Native.NmFunctions(full).Single(f => f.Name == "shapes_private_area");
        Assert.Null(symbols.Lookup(hidden.Address));
    }

    [Fact]
    public void AliasesAtOneAddressAreNamedByTheGlobalSymbol()
    {
        using var elf = ElfFile.Open(BuildKind("pie -g"));
        var symbols = elf.ReadFunctionSymbols();
        var strong = symbols.Symbols().Single(s => s.Name == "strong_impl");
        Assert.DoesNotContain(symbols.Symbols(), s => s.Name == "weak_alias");
        Assert.Equal("strong_impl", symbols.Lookup(strong.Start)!.Value.Name);
    }

    [Fact]
    public void AddressBetweenFunctionsGetsNoNameAndNothingOutsideCodeIsNamed()
    {
        using var elf = ElfFile.Open(BuildKind("pie"));
        var symbols = elf.ReadFunctionSymbols();
        var text = elf.Sections.Single(s => s.Name == ".text");
        var all = symbols.Symbols().Where(s => s.Start >= text.Address && s.Start < text.Address + text.Size).ToList();
        // Find padding after a function and before the next one (alignment gaps are common at -O1).
        var gap = all.Zip(all.Skip(1)).FirstOrDefault(p => p.First.Start + p.First.Size < p.Second.Start);
        Assert.NotEqual(default, gap);
        var between = gap.First.Start + gap.First.Size;
        Assert.Null(symbols.Lookup(between));
        var nearest = symbols.NearestBelow(between)!.Value;
        Assert.Equal(gap.First.Name, nearest.Name);
        Assert.Equal(gap.First.Size, nearest.Offset);
        // Data and addresses below every function have no name.
        var data = elf.Sections.Single(s => s.Name == ".data");
        Assert.Null(symbols.Lookup(data.Address));
        Assert.Null(symbols.NearestBelow(data.Address));
        Assert.Null(symbols.Lookup(0));
    }

    [Fact]
    public void DebugLinkIsRead()
    {
        var binary = Native.Cached(BuildKind("pie -g"), "debuglink", output =>
        {
            var debug = output + ".debug";
            Native.Run("objcopy", $"--only-keep-debug \"{BuildKind("pie -g")}\" \"{debug}\"");
            Native.Run("objcopy", $"--strip-debug --add-gnu-debuglink=\"{debug}\" \"{BuildKind("pie -g")}\" \"{output}\"");
        });
        using var elf = ElfFile.Open(binary);
        Assert.NotNull(elf.DebugLink);
        Assert.EndsWith(".debug", elf.DebugLink.FileName);
        using var debugFile = ElfFile.Open(Path.Combine(Path.GetDirectoryName(binary)!, elf.DebugLink.FileName));
        Assert.Equal(elf.DebugLink.Crc32, debugFile.ComputeCrc32());
        Assert.Equal(elf.BuildId, debugFile.BuildId);
        Assert.True(debugFile.HasDebugInfo);
        Assert.False(elf.HasDebugInfo);
    }
}
