using Foom.Symbols.MachO;
using Foom.Symbols.Tests.Support;

namespace Foom.Symbols.Tests;

public class MachOFileTests
{
    [Theory]
    [InlineData("arm64", false)]
    [InlineData("x86_64", false)]
    [InlineData("x86_64", true)]
    public void ThinImageHasTheUuidAndFunctionsLlvmToolsSee(string architecture, bool executable)
    {
        var path = MachOBuild.Link("machlib.c", architecture, executable);
        using var file = MachOFile.Open(path);
        Assert.False(file.IsUniversal);
        var image = Assert.Single(file.Images);
        Assert.Equal(architecture, image.Architecture);
        Assert.Equal(MachOBuild.Uuids(path)[architecture], image.Uuid);
        Assert.Equal(executable ? 2u : 6u, image.FileType);
        Assert.Equal(executable ? 0x1_0000_0000UL : 0UL, image.TextVmAddress);

        var symbols = image.ReadFunctionSymbols();
        var functions = MachOBuild.NmFunctions(path, architecture);
        Assert.Contains(functions, f => f.Name == "mach_hidden");
        foreach (var (name, address) in functions)
        {
            var offset = address - image.TextVmAddress!.Value; // what Matrix sends: pc − __TEXT start
            var match = symbols.Lookup(image.AddressOfOffset(offset + 2));
            Assert.NotNull(match);
            Assert.Equal(name, match.Value.Name);
            Assert.Equal(2UL, match.Value.Offset);
        }
    }

    [Fact]
    public void UniversalFileHoldsBothArchitecturesEachWithItsUuid()
    {
        var path = MachOBuild.Universal("machlib.c");
        using var file = MachOFile.Open(path);
        Assert.True(file.IsUniversal);
        Assert.Equal(["arm64", "x86_64"], file.Images.Select(i => i.Architecture).Order());
        var expected = MachOBuild.Uuids(path);
        foreach (var image in file.Images)
        {
            Assert.Equal(expected[image.Architecture], image.Uuid);
            Assert.Same(image, file.FindImage(expected[image.Architecture].ToUpperInvariant()));
            var entry = MachOBuild.NmFunctions(path, image.Architecture).Single(f => f.Name == "mach_entry");
            Assert.Equal("mach_entry", image.ReadFunctionSymbols().Lookup(entry.Address)!.Value.Name);
        }
        Assert.NotEqual(file.Images[0].Uuid, file.Images[1].Uuid);
        Assert.Null(file.FindImage("00112233445566778899aabbccddeeff"));
    }

    [Fact]
    public void DsymCompanionHasTheImagesUuidAndDwarf()
    {
        var image = MachOBuild.Link("machlib.c", "arm64");
        var companion = MachOBuild.DsymCompanion(image);
        using var dsym = MachOFile.Open(companion);
        using var binary = MachOFile.Open(image);
        Assert.Equal(10u, dsym.Images[0].FileType); // MH_DSYM
        Assert.Equal(binary.Images[0].Uuid, dsym.Images[0].Uuid);
        Assert.True(dsym.Images[0].HasDebugInfo);
        Assert.False(binary.Images[0].HasDebugInfo);
        Assert.Contains(dsym.Images[0].ReadFunctionSymbols().Symbols(), s => s.Name == "mach_hidden");
    }

    [Theory]
    [InlineData("thin")]
    [InlineData("universal")]
    [InlineData("dsym")]
    public void DamagedCopiesGiveAClearErrorNamingTheFileNeverACrashOrHang(string kind)
    {
        var path = kind switch
        {
            "thin" => MachOBuild.Link("machlib.c", "x86_64", executable: true),
            "universal" => MachOBuild.Universal("machlib.c"),
            _ => MachOBuild.DsymCompanion(MachOBuild.Link("machlib.c", "arm64")),
        };
        Corruption.Check(path, damaged =>
        {
            using var file = MachOFile.Open(damaged);
            foreach (var image in file.Images)
            {
                var symbols = image.ReadFunctionSymbols();
                if (image.TextVmAddress != null) symbols.Lookup(image.AddressOfOffset(0x300));
                _ = image.HasDebugInfo;
            }
        }, seed: kind.Length);
    }

    [Fact]
    public void JavaClassFileAndThirtyTwoBitImagesAreRefusedClearly()
    {
        var folder = Directory.CreateTempSubdirectory("foom-macho-");
        try
        {
            var java = Path.Combine(folder.FullName, "Main.class");
            File.WriteAllBytes(java, [0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x34, 0, 0, 0, 0]);
            Assert.Contains("Java class", Assert.Throws<SymbolFileException>(() => MachOFile.Open(java)).Message);

            var thirtyTwo = Path.Combine(folder.FullName, "old");
            var bytes = File.ReadAllBytes(MachOBuild.Link("machlib.c", "x86_64"));
            bytes[0] = 0xce; // MH_MAGIC, 32-bit
            File.WriteAllBytes(thirtyTwo, bytes);
            var error = Assert.Throws<SymbolFileException>(() => MachOFile.Open(thirtyTwo));
            Assert.Contains("32-bit", error.Message);
            Assert.StartsWith(thirtyTwo, error.Message);
        }
        finally { folder.Delete(recursive: true); }
    }
}
