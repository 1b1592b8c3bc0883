using System.Buffers.Binary;
using System.Text;
using Foom.Symbols.IO;

namespace Foom.Symbols.Elf;

/// <summary>A section header, as far as symbolication needs it.</summary>
public sealed record ElfSection(int Index, string Name, uint Type, ulong Flags, ulong Address, ulong Offset, ulong Size, uint Link, ulong Alignment, ulong EntrySize)
{
    public bool IsExecutable => (Flags & ElfFile.SectionFlagExecutable) != 0;

    /// <summary>NOBITS sections (.bss, and every code section of a separate debug file) have no bytes in the file.</summary>
    public bool HasFileContents => Type != ElfFile.SectionTypeNoBits;
}

/// <summary>A program header (segment).</summary>
public sealed record ElfSegment(uint Type, uint Flags, ulong Offset, ulong VirtualAddress, ulong FileSize, ulong MemorySize, ulong Alignment)
{
    public bool IsExecutable => (Flags & 1) != 0;
}

/// <summary>The .gnu_debuglink section: the name of the separate debug file and its CRC-32.</summary>
public sealed record ElfDebugLink(string FileName, uint Crc32);

/// <summary>
/// A 64-bit little-endian ELF file (x86-64, arm64 and any other machine of that shape): its
/// sections, segments, GNU build-id, debug link and function symbols. Everything read from the
/// file is bounds-checked; a truncated or corrupt file gives a <see cref="SymbolFileException"/>
/// that names the file and the structure that is wrong.
/// </summary>
/// <remarks>
/// Addresses are ELF virtual addresses (st_value). The hook records a frame as
/// pc − load bias, which is exactly such an address, so lookups need no translation.
/// </remarks>
public sealed class ElfFile : IDisposable
{
    internal const uint SectionTypeSymbols = 2;     // SHT_SYMTAB
    internal const uint SectionTypeStrings = 3;     // SHT_STRTAB
    internal const uint SectionTypeNote = 7;        // SHT_NOTE
    internal const uint SectionTypeNoBits = 8;      // SHT_NOBITS
    internal const uint SectionTypeDynamicSymbols = 11; // SHT_DYNSYM
    internal const ulong SectionFlagExecutable = 4; // SHF_EXECINSTR
    private const int HeaderSize = 64;
    private const int SectionHeaderSize = 64;
    private const int ProgramHeaderSize = 56;
    private const int SymbolSize = 24;
    private const ulong MaxSections = 1_000_000;

    private readonly BinaryFile _file;

    private ElfFile(BinaryFile file, ushort type, ushort machine, IReadOnlyList<ElfSection> sections, IReadOnlyList<ElfSegment> segments)
    {
        _file = file;
        FileType = type;
        Machine = machine;
        Sections = sections;
        Segments = segments;
        BuildId = ElfIdentity.FindBuildId(file, sections, segments);
        DebugLink = ElfIdentity.FindDebugLink(file, sections);
    }

    public string Path => _file.Path;

    /// <summary>e_type: 2 for an executable (non-PIE), 3 for a shared object or PIE.</summary>
    public ushort FileType { get; }

    /// <summary>e_machine: 62 for x86-64, 183 for arm64.</summary>
    public ushort Machine { get; }

    public IReadOnlyList<ElfSection> Sections { get; }
    public IReadOnlyList<ElfSegment> Segments { get; }

    /// <summary>The GNU build-id in lower-case hex, as <c>readelf -n</c> prints it; null when the file has none.</summary>
    public string? BuildId { get; }

    public ElfDebugLink? DebugLink { get; }

    /// <summary>Whether the file carries DWARF line information for llvm-symbolizer or addr2line to read.</summary>
    public bool HasDebugInfo => Sections.Any(s => s.HasFileContents && s.Size > 0 && s.Name is ".debug_info" or ".zdebug_info" or ".debug_line" or ".zdebug_line");

    /// <summary>Whether the full symbol table (.symtab) is there, not only the dynamic one.</summary>
    public bool HasFullSymbolTable => Sections.Any(s => s.Type == SectionTypeSymbols && s.Size > 0);

    public bool HasDynamicSymbols => Sections.Any(s => s.Type == SectionTypeDynamicSymbols && s.Size > 0);

    /// <summary>Whether a MiniDebugInfo section (.gnu_debugdata, an xz-compressed .symtab) is there.</summary>
    public bool HasMiniDebugInfo => Sections.Any(s => s.Name == MiniDebugInfo.SectionName && s.HasFileContents && s.Size > 0);

    /// <summary>Opens and reads the headers, build-id and debug link. Throws <see cref="SymbolFileException"/>.</summary>
    public static ElfFile Open(string path)
    {
        var file = BinaryFile.Open(path);
        try { return Read(file); }
        catch { file.Dispose(); throw; }
    }

    /// <summary>An ELF file held in memory (the one inside a MiniDebugInfo section); <paramref name="name"/> names it in errors.</summary>
    internal static ElfFile OpenInMemory(string name, byte[] bytes) => Read(BinaryFile.InMemory(name, bytes));

    /// <summary>Only the build-id of the file at <paramref name="path"/> (null when it has none).</summary>
    public static string? ReadBuildId(string path)
    {
        using var elf = Open(path);
        return elf.BuildId;
    }

    /// <summary>Whether <paramref name="header"/> starts like an ELF file.</summary>
    public static bool HasElfMagic(ReadOnlySpan<byte> header) =>
        header.Length >= 4 && header[0] == 0x7f && header[1] == (byte)'E' && header[2] == (byte)'L' && header[3] == (byte)'F';

    private static ElfFile Read(BinaryFile file)
    {
        if (file.Length < 16) throw file.Corrupt($"is too short to be an ELF file ({file.Length} bytes)");
        Span<byte> header = stackalloc byte[HeaderSize];
        file.ReadInto(0, header[..16], "ELF identification");
        if (!HasElfMagic(header)) throw file.Corrupt("is not an ELF file (no \\x7fELF magic at its start)");
        if (header[4] == 1) throw file.Corrupt("is a 32-bit ELF file: Foom reads 64-bit ELF only");
        if (header[4] != 2) throw file.Corrupt($"has an unknown ELF class {header[4]}");
        if (header[5] == 2) throw file.Corrupt("is a big-endian ELF file: Foom reads little-endian ELF only");
        if (header[5] != 1) throw file.Corrupt($"has an unknown ELF data encoding {header[5]}");
        if (file.Length < HeaderSize) throw file.Corrupt($"is truncated inside the ELF header ({file.Length} of {HeaderSize} bytes)");
        file.ReadInto(0, header, "ELF header");

        var type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        var machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        var programHeaderOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
        var sectionHeaderOffset = BinaryPrimitives.ReadUInt64LittleEndian(header[40..]);
        var programHeaderEntrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[54..]);
        ulong programHeaderCount = BinaryPrimitives.ReadUInt16LittleEndian(header[56..]);
        var sectionHeaderEntrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[58..]);
        ulong sectionHeaderCount = BinaryPrimitives.ReadUInt16LittleEndian(header[60..]);
        ulong sectionNamesIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[62..]);

        if (type == 1) throw file.Corrupt("is a relocatable object (.o), not a linked executable or shared library");
        if (type == 4) throw file.Corrupt("is a core dump, not an executable or shared library");
        if (type is not (2 or 3)) throw file.Corrupt($"has ELF type {type}, neither an executable nor a shared library");

        // Extended numbering: with 0xff00 or more sections the real counts live in section 0.
        if (sectionHeaderOffset != 0 && (sectionHeaderCount == 0 || sectionNamesIndex == 0xffff || programHeaderCount == 0xffff))
        {
            if (sectionHeaderEntrySize < SectionHeaderSize) throw file.Corrupt($"ELF header gives section header size {sectionHeaderEntrySize}, less than {SectionHeaderSize}");
            var (offset, _) = file.CheckRange(sectionHeaderOffset, SectionHeaderSize, "section header 0 (extended numbering)");
            var zero = file.Read(offset, SectionHeaderSize, "section header 0 (extended numbering)");
            if (sectionHeaderCount == 0) sectionHeaderCount = BinaryPrimitives.ReadUInt64LittleEndian(zero.AsSpan(32));
            if (sectionNamesIndex == 0xffff) sectionNamesIndex = BinaryPrimitives.ReadUInt32LittleEndian(zero.AsSpan(40));
            if (programHeaderCount == 0xffff) programHeaderCount = BinaryPrimitives.ReadUInt32LittleEndian(zero.AsSpan(44));
        }

        var segments = ReadSegments(file, programHeaderOffset, programHeaderEntrySize, programHeaderCount);
        var sections = ReadSections(file, sectionHeaderOffset, sectionHeaderEntrySize, sectionHeaderCount, sectionNamesIndex);
        return new ElfFile(file, type, machine, sections, segments);
    }

    private static List<ElfSegment> ReadSegments(BinaryFile file, ulong tableOffset, ushort entrySize, ulong count)
    {
        var segments = new List<ElfSegment>();
        if (count == 0 || tableOffset == 0) return segments;
        if (entrySize < ProgramHeaderSize) throw file.Corrupt($"ELF header gives program header size {entrySize}, less than {ProgramHeaderSize}");
        if (count > (ulong)file.Length / entrySize) throw file.Corrupt($"ELF header claims {count} program headers, more than the file can hold");
        var (offset, length) = file.CheckRange(tableOffset, count * entrySize, "program header table");
        var table = file.Read(offset, length, "program header table");
        for (var i = 0; i < (int)count; i++)
        {
            var entry = table.AsSpan(i * entrySize, ProgramHeaderSize);
            segments.Add(new ElfSegment(
                Type: BinaryPrimitives.ReadUInt32LittleEndian(entry),
                Flags: BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]),
                Offset: BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
                VirtualAddress: BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]),
                FileSize: BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]),
                MemorySize: BinaryPrimitives.ReadUInt64LittleEndian(entry[40..]),
                Alignment: BinaryPrimitives.ReadUInt64LittleEndian(entry[48..])));
        }
        return segments;
    }

    private static List<ElfSection> ReadSections(BinaryFile file, ulong tableOffset, ushort entrySize, ulong count, ulong namesIndex)
    {
        var sections = new List<ElfSection>();
        if (count == 0 || tableOffset == 0) return sections;
        if (entrySize < SectionHeaderSize) throw file.Corrupt($"ELF header gives section header size {entrySize}, less than {SectionHeaderSize}");
        if (count > (ulong)file.Length / entrySize) throw file.Corrupt($"ELF header claims {count} section headers, more than the file can hold");
        if (count > MaxSections) throw file.Corrupt($"ELF header claims {count} section headers; Foom reads at most {MaxSections}");
        var (offset, length) = file.CheckRange(tableOffset, count * entrySize, "section header table");
        var table = file.Read(offset, length, "section header table");

        var raw = new (uint Name, uint Type, ulong Flags, ulong Address, ulong Offset, ulong Size, uint Link, ulong Alignment, ulong EntrySize)[(int)count];
        for (var i = 0; i < raw.Length; i++)
        {
            var entry = table.AsSpan(i * entrySize, SectionHeaderSize);
            raw[i] = (BinaryPrimitives.ReadUInt32LittleEndian(entry),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[24..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[32..]),
                BinaryPrimitives.ReadUInt32LittleEndian(entry[40..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[48..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[56..]));
        }

        byte[] names = [];
        if (namesIndex != 0)
        {
            if (namesIndex >= count) throw file.Corrupt($"section name table index {namesIndex} is outside the {count} sections");
            var namesHeader = raw[(int)namesIndex];
            if (namesHeader.Type != SectionTypeStrings) throw file.Corrupt($"section name table (section {namesIndex}) is not a string table");
            var (namesOffset, namesLength) = file.CheckRange(namesHeader.Offset, namesHeader.Size, "section name table");
            names = file.Read(namesOffset, namesLength, "section name table");
        }

        for (var i = 0; i < raw.Length; i++)
        {
            var r = raw[i];
            var name = r.Name < names.Length ? ReadString(names, (int)r.Name) : "";
            sections.Add(new ElfSection(i, name, r.Type, r.Flags, r.Address, r.Offset, r.Size, r.Link, r.Alignment, r.EntrySize));
        }
        return sections;
    }

    /// <summary>
    /// The function symbols (STT_FUNC and STT_GNU_IFUNC) of .symtab and .dynsym together: a
    /// stripped binary keeps only .dynsym, a debug file only .symtab. Without a .symtab, those of
    /// the MiniDebugInfo section too; a damaged one is left out and said in <paramref name="problems"/>.
    /// </summary>
    public SymbolTable ReadFunctionSymbols(ICollection<string>? problems = null)
    {
        var builder = new SymbolTableBuilder();
        var codeSections = Sections.Where(s => s.IsExecutable && s.Size > 0).OrderBy(s => s.Address).ToArray();
        AddSymbolTables(builder, codeSections);
        if (!HasFullSymbolTable && HasMiniDebugInfo)
        {
            var section = Sections.First(s => s.Name == MiniDebugInfo.SectionName && s.HasFileContents && s.Size > 0);
            var (offset, length) = _file.CheckRange(section.Offset, section.Size, MiniDebugInfo.SectionName);
            try
            {
                using var embedded = MiniDebugInfo.Open(Path, _file.Read(offset, length, MiniDebugInfo.SectionName));
                // Its code sections are NOBITS copies of ours: the binary's own bound the symbols.
                embedded.AddSymbolTables(builder, codeSections);
            }
            catch (SymbolFileException e) when (problems != null)
            {
                problems.Add(e.Message);
            }
        }
        return builder.Build();
    }

    private void AddSymbolTables(SymbolTableBuilder builder, ElfSection[] codeSections)
    {
        foreach (var table in Sections.Where(s => s.Type is SectionTypeSymbols or SectionTypeDynamicSymbols && s.Size > 0))
        {
            AddSymbols(builder, table, codeSections);
        }
    }

    private void AddSymbols(SymbolTableBuilder builder, ElfSection table, ElfSection[] codeSections)
    {
        var what = table.Name.Length > 0 ? table.Name : $"symbol table (section {table.Index})";
        var entrySize = table.EntrySize == 0 ? SymbolSize : table.EntrySize;
        if (entrySize < SymbolSize || entrySize > 1024) throw _file.Corrupt($"{what} has entry size {table.EntrySize}, expected {SymbolSize}");
        if (table.Type == SectionTypeNoBits) throw _file.Corrupt($"{what} has no contents in the file (NOBITS)");
        if (table.Link == 0 || table.Link >= Sections.Count) throw _file.Corrupt($"{what} links to string table section {table.Link}, which does not exist");
        var stringSection = Sections[(int)table.Link];
        if (stringSection.Type != SectionTypeStrings) throw _file.Corrupt($"{what} links to section {table.Link} ({stringSection.Name}), which is not a string table");

        var (offset, length) = _file.CheckRange(table.Offset, table.Size, what);
        var (stringsOffset, stringsLength) = _file.CheckRange(stringSection.Offset, stringSection.Size, $"string table {stringSection.Name} of {what}");
        var symbols = _file.Read(offset, length, what);
        var strings = _file.Read(stringsOffset, stringsLength, $"string table {stringSection.Name}");
        var blob = builder.AddNames(strings);
        var count = (long)((ulong)length / entrySize);

        for (long i = 0; i < count; i++)
        {
            var entry = symbols.AsSpan((int)(i * (long)entrySize), SymbolSize);
            var nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            var info = entry[4];
            var sectionIndex = BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]);
            var value = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
            var size = BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]);
            var symbolType = info & 0xf;
            var binding = info >> 4;
            if (symbolType is not (2 or 10)) continue;            // STT_FUNC, STT_GNU_IFUNC
            if (sectionIndex == 0 || value == 0) continue;        // undefined (imported) functions
            if (nameOffset >= strings.Length) { builder.Skip(); continue; }
            var nameEnd = Array.IndexOf(strings, (byte)0, (int)nameOffset);
            var nameLength = (nameEnd < 0 ? strings.Length : nameEnd) - (int)nameOffset;
            var rank = binding switch { 1 => 3, 2 => 2, 10 => 2, _ => 1 }; // GLOBAL, WEAK, GNU_UNIQUE, LOCAL
            builder.Add(value, size, RegionEnd(codeSections, value), blob, (int)nameOffset, nameLength, rank);
        }
    }

    /// <summary>The end of the code section holding <paramref name="address"/>, or 0 when none does.</summary>
    private static ulong RegionEnd(ElfSection[] codeSections, ulong address)
    {
        foreach (var section in codeSections)
        {
            if (address >= section.Address && address - section.Address < section.Size) return section.Address + section.Size;
        }
        return 0;
    }

    /// <summary>The CRC-32 of the whole file, as .gnu_debuglink records it for a debug file.</summary>
    public uint ComputeCrc32()
    {
        var crc = Crc32.Begin;
        var buffer = new byte[1 << 16];
        for (long offset = 0; offset < _file.Length; offset += buffer.Length)
        {
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, _file.Length - offset));
            _file.ReadInto(offset, chunk, "file contents");
            crc = Crc32.Append(crc, chunk);
        }
        return Crc32.End(crc);
    }

    private static string ReadString(byte[] table, int offset)
    {
        var end = Array.IndexOf(table, (byte)0, offset);
        return Encoding.UTF8.GetString(table, offset, (end < 0 ? table.Length : end) - offset);
    }

    public void Dispose() => _file.Dispose();
}
