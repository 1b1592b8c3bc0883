using SharpCompress.Compressors.Xz;

namespace Foom.Symbols.Elf;

/// <summary>
/// The MiniDebugInfo section (.gnu_debugdata) that Fedora-style builds put in stripped binaries:
/// an xz-compressed ELF file holding a .symtab of the functions .dynsym leaves out (GDB's
/// "MiniDebugInfo"). Its addresses are the binary's own.
/// </summary>
internal static class MiniDebugInfo
{
    public const string SectionName = ".gnu_debugdata";

    /// <summary>More than any real MiniDebugInfo (a symbol table of a large library is a few MiB): an xz bomb stops here.</summary>
    private const int MaxBytes = 256 << 20;

    /// <summary>The embedded ELF file, decompressed. Throws <see cref="SymbolFileException"/> naming the binary when it is not valid xz or not ELF.</summary>
    public static ElfFile Open(string binaryPath, byte[] compressed)
    {
        byte[] bytes;
        try
        {
            using var xz = new XZStream(new MemoryStream(compressed, writable: false));
            using var output = new MemoryStream();
            var buffer = new byte[1 << 16];
            int n;
            while ((n = xz.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + n > MaxBytes)
                    throw new SymbolFileException(binaryPath, $"{SectionName} decompresses to more than {MaxBytes >> 20} MiB, more than a symbol table: not used");
                output.Write(buffer, 0, n);
            }
            bytes = output.ToArray();
        }
        catch (SymbolFileException) { throw; }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // SharpCompress reports a damaged stream with a variety of exception types.
            throw new SymbolFileException(binaryPath, $"{SectionName} is not a valid xz stream ({e.Message}): its symbols are not used", e);
        }
        try
        {
            return ElfFile.OpenInMemory($"{binaryPath}[{SectionName}]", bytes);
        }
        catch (SymbolFileException e)
        {
            throw new SymbolFileException(binaryPath, $"{SectionName} does not hold a valid ELF file ({e.Problem}): its symbols are not used", e);
        }
    }
}
