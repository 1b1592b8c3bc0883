using Foom.Symbols.Elf;
using Foom.Symbols.Tests.Support;

namespace Foom.Symbols.Tests;

/// <summary>
/// Fedora-style MiniDebugInfo, made the way Fedora's find-debuginfo does (objcopy
/// --only-keep-debug, keep the functions .dynsym lacks, xz, objcopy --add-section
/// .gnu_debugdata), and a damaged one.
/// </summary>
public class MiniDebugInfoTests
{
    /// <summary>A stripped functions.c whose .gnu_debugdata holds <paramref name="payload"/> (null: the real xz'ed symbol table).</summary>
    private static string WithMiniDebugInfo(string full, string recipe, Func<string, byte[]>? payload = null) =>
        Native.Cached(full, "minidebuginfo " + recipe, output =>
        {
            var work = output + ".work";
            Directory.CreateDirectory(work);
            try
            {
                var dynamic = Native.NmFunctions(full, dynamic: true).Select(f => f.Name).ToHashSet();
                File.WriteAllLines(Path.Combine(work, "keep"), Native.NmFunctions(full).Select(f => f.Name).Where(n => !dynamic.Contains(n)).Distinct());
                var debug = Path.Combine(work, "debug");
                var mini = Path.Combine(work, "mini");
                Native.Run("objcopy", $"--only-keep-debug \"{full}\" \"{debug}\"");
                Native.Run("objcopy", $"-S --remove-section .gdb_index --remove-section .comment --keep-symbols=\"{Path.Combine(work, "keep")}\" \"{debug}\" \"{mini}\"");
                Native.Run("xz", $"-f \"{mini}\"");
                var section = Path.Combine(work, "section");
                File.WriteAllBytes(section, payload?.Invoke(mini + ".xz") ?? File.ReadAllBytes(mini + ".xz"));
                Native.Run("objcopy", $"--strip-all --add-section .gnu_debugdata=\"{section}\" \"{full}\" \"{output}\"");
            }
            finally { Directory.Delete(work, recursive: true); }
        });

    private static string Full => Native.Compile("functions.c", "-O1 -shared -fPIC");

    [Fact]
    public void AStaticFunctionOfAStrippedBinaryIsNamedFromItsMiniDebugInfo()
    {
        var binary = WithMiniDebugInfo(Full, "xz");
        var helper = Native.NmFunctions(Full).Single(f => f.Name == "static_helper");
        using (var elf = ElfFile.Open(binary))
        {
            Assert.False(elf.HasFullSymbolTable);
            Assert.True(elf.HasMiniDebugInfo);
        }
        Assert.DoesNotContain(Native.NmFunctions(binary, dynamic: true), f => f.Name == "static_helper");

        var result = new Symbolizer(new SymbolizerOptions { DebugDirectories = [], ToolSearchPath = ToolSet.With() }).Symbolize(new SymbolizeRequest
        {
            Modules = [new ModuleInfo(binary, Native.ReadelfBuildId(binary))],
            Frames = [new FrameRef(0, helper.Address + 1), new FrameRef(0, helper.Address + helper.Size)],
        });
        Assert.Equal("static_helper", result.Frames[0].Function);
        Assert.Equal(1UL, result.Frames[0].SymbolOffset);
        Assert.Null(result.Modules[0].Note);
        // One past its end is another function, never static_helper.
        Assert.NotEqual("static_helper", result.Frames[1].Function);
    }

    [Theory]
    [InlineData("garbage", "not a valid xz stream")]
    [InlineData("truncated", "not a valid xz stream")]
    [InlineData("not elf", "does not hold a valid ELF file")]
    public void ADamagedMiniDebugInfoIsRefusedWithItsReasonAndExportedNamesStay(string damage, string reason)
    {
        var binary = WithMiniDebugInfo(Full, damage, xzFile => damage switch
        {
            "garbage" => "this is not xz at all, just bytes"u8.ToArray(),
            "truncated" => File.ReadAllBytes(xzFile)[..(int)(new FileInfo(xzFile).Length / 2)],
            _ => CompressedText(Path.GetDirectoryName(xzFile)!),
        });
        var helper = Native.NmFunctions(Full).Single(f => f.Name == "static_helper");
        var exported = Native.NmFunctions(binary, dynamic: true).Single(f => f.Name == "leaf_add");
        var result = new Symbolizer(new SymbolizerOptions { DebugDirectories = [], ToolSearchPath = ToolSet.With() }).Symbolize(new SymbolizeRequest
        {
            Modules = [new ModuleInfo(binary, Native.ReadelfBuildId(binary))],
            Frames = [new FrameRef(0, helper.Address + 1), new FrameRef(0, exported.Address + 1)],
        });
        Assert.Null(result.Modules[0].Problem);
        Assert.Contains(".gnu_debugdata", result.Modules[0].Note);
        Assert.Contains(reason, result.Modules[0].Note);
        Assert.StartsWith(binary, result.Modules[0].Note);
        Assert.Null(result.Frames[0].Function);
        Assert.Contains("holds", result.Frames[0].Problem);
        Assert.Equal("leaf_add", result.Frames[1].Function);
    }

    /// <summary>A valid xz stream of something that is not ELF.</summary>
    private static byte[] CompressedText(string folder)
    {
        var text = Path.Combine(folder, "text");
        File.WriteAllText(text, "plain text, not an ELF file\n");
        Native.Run("xz", $"-f \"{text}\"");
        return File.ReadAllBytes(text + ".xz");
    }
}
