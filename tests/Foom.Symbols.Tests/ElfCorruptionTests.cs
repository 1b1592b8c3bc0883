using Foom.Symbols.Elf;
using Foom.Symbols.Tests.Support;

namespace Foom.Symbols.Tests;

public class ElfCorruptionTests
{
    private static void ReadEverything(string path)
    {
        using var elf = ElfFile.Open(path);
        _ = elf.BuildId;
        var symbols = elf.ReadFunctionSymbols();
        foreach (var (_, start, size, _) in symbols.Symbols().Take(50)) symbols.Lookup(start + size / 2);
        _ = elf.HasDebugInfo;
    }

    [Theory]
    [InlineData("pie -g")]
    [InlineData("shared stripped")]
    public void DamagedCopiesGiveAClearErrorNamingTheFileNeverACrashOrHang(string kind) =>
        Corruption.Check(ElfFileTests.BuildKind(kind), ReadEverything, seed: kind.Length);

    [Fact]
    public void ThirtyTwoBitElfIsRefusedClearly()
    {
        var path = Path.GetTempFileName();
        try
        {
            var bytes = File.ReadAllBytes(ElfFileTests.BuildKind("pie"));
            bytes[4] = 1; // ELFCLASS32
            File.WriteAllBytes(path, bytes);
            var error = Assert.Throws<SymbolFileException>(() => ElfFile.Open(path));
            Assert.Contains("32-bit", error.Message);
            Assert.StartsWith(path, error.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void NonElfMissingAndFolderPathsAreRefusedClearly()
    {
        var text = Path.GetTempFileName();
        try
        {
            File.WriteAllText(text, "#!/bin/sh\necho not a binary\n");
            Assert.Contains("not an ELF file", Assert.Throws<SymbolFileException>(() => ElfFile.Open(text)).Message);
        }
        finally { File.Delete(text); }
        Assert.Contains("does not exist", Assert.Throws<SymbolFileException>(() => ElfFile.Open("/nonexistent/libgone.so")).Message);
        Assert.Contains("folder", Assert.Throws<SymbolFileException>(() => ElfFile.Open("/tmp")).Message);
    }

    [Fact]
    public async Task AFifoIsRefusedInsteadOfBlocking()
    {
        var fifo = Path.Combine(Path.GetTempPath(), $"foom-fifo-{Guid.NewGuid():N}");
        Native.Run("mkfifo", $"\"{fifo}\"");
        try
        {
            var open = Task.Run(() => Assert.Throws<SymbolFileException>(() => ElfFile.Open(fifo)), TestContext.Current.CancellationToken);
            var error = await open.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.StartsWith(fifo, error.Message);
        }
        finally { File.Delete(fifo); }
    }
}
