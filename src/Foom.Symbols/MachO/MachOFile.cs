using System.Buffers.Binary;
using System.Text;
using Foom.Symbols.IO;

namespace Foom.Symbols.MachO;

/// <summary>A Mach-O section, as far as symbolication needs it.</summary>
public sealed record MachOSection(string Segment, string Name, ulong Address, ulong Size, uint FileOffset, uint Flags)
{
    /// <summary>S_ATTR_PURE_INSTRUCTIONS or S_ATTR_SOME_INSTRUCTIONS, or the classic __TEXT,__text.</summary>
    public bool IsCode => (Flags & 0x80000400) != 0 || (Segment == "__TEXT" && Name == "__text");
}

/// <summary>
/// A Mach-O file: a thin 64-bit image, or a universal ("fat") file holding one image per
/// architecture. Every image is read and bounds-checked on open; a corrupt or truncated file gives
/// a <see cref="SymbolFileException"/> naming the file and what is wrong. 32-bit images are
/// listed in <see cref="SkippedImages"/> with the reason, not read.
/// </summary>
public sealed class MachOFile : IDisposable
{
    private const uint FatMagic = 0xcafebabe;
    private const uint FatMagic64 = 0xcafebabf;
    private const uint MachMagic64 = 0xfeedfacf;
    private const uint MachMagic32 = 0xfeedface;
    private const int MaxArchitectures = 30; // file(1) draws the same line between universal files and Java classes

    private readonly BinaryFile _file;

    private MachOFile(BinaryFile file, bool universal, List<MachOImage> images, List<string> skipped)
    {
        _file = file;
        IsUniversal = universal;
        Images = images;
        SkippedImages = skipped;
    }

    public string Path => _file.Path;
    public bool IsUniversal { get; }

    /// <summary>The 64-bit images (one for a thin file).</summary>
    public IReadOnlyList<MachOImage> Images { get; }

    /// <summary>Architectures of a universal file that were not read, each with why.</summary>
    public IReadOnlyList<string> SkippedImages { get; }

    /// <summary>Whether <paramref name="header"/> starts like a Mach-O or universal file.</summary>
    public static bool HasMachOMagic(ReadOnlySpan<byte> header)
    {
        if (header.Length < 4) return false;
        var big = BinaryPrimitives.ReadUInt32BigEndian(header);
        var little = BinaryPrimitives.ReadUInt32LittleEndian(header);
        return big is FatMagic or FatMagic64 || little is MachMagic64 or MachMagic32 || big is MachMagic64 or MachMagic32;
    }

    /// <summary>The image whose LC_UUID is <paramref name="uuid"/> (any spelling), or null.</summary>
    public MachOImage? FindImage(string uuid)
    {
        var wanted = BuildIds.Normalize(uuid);
        return wanted == null ? null : Images.FirstOrDefault(i => i.Uuid == wanted);
    }

    public static MachOFile Open(string path)
    {
        var file = BinaryFile.Open(path);
        try { return Read(file); }
        catch { file.Dispose(); throw; }
    }

    private static MachOFile Read(BinaryFile file)
    {
        if (file.Length < 8) throw file.Corrupt($"is too short to be a Mach-O file ({file.Length} bytes)");
        var magicBig = file.ReadUInt32BigEndian(0, "Mach-O magic");
        if (magicBig is FatMagic or FatMagic64) return ReadUniversal(file, magicBig == FatMagic64);
        var image = MachOImage.Read(file, architectureLabel: null);
        return new MachOFile(file, universal: false, [image], []);
    }

    private static MachOFile ReadUniversal(BinaryFile file, bool wide)
    {
        var count = file.ReadUInt32BigEndian(4, "universal header");
        // 0xcafebabe also starts Java class files, whose next word (the class version) is larger.
        if (count == 0) throw file.Corrupt("universal Mach-O header lists no architectures");
        if (count > MaxArchitectures) throw file.Corrupt($"universal Mach-O header claims {count} architectures (a Java class file, or corrupt)");
        var entrySize = wide ? 32 : 20;
        var table = file.Read(8, count * entrySize, "universal architecture table");
        var images = new List<MachOImage>();
        var skipped = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var entry = table.AsSpan(i * entrySize, entrySize);
            var cpuType = BinaryPrimitives.ReadUInt32BigEndian(entry);
            var cpuSubtype = BinaryPrimitives.ReadUInt32BigEndian(entry[4..]);
            ulong offset = wide ? BinaryPrimitives.ReadUInt64BigEndian(entry[8..]) : BinaryPrimitives.ReadUInt32BigEndian(entry[8..]);
            ulong size = wide ? BinaryPrimitives.ReadUInt64BigEndian(entry[16..]) : BinaryPrimitives.ReadUInt32BigEndian(entry[12..]);
            var label = $"architecture {i} ({MachOImage.ArchitectureName(cpuType, cpuSubtype)})";
            var (sliceOffset, sliceLength) = file.CheckRange(offset, size, label);
            if ((cpuType & 0x01000000) == 0)
            {
                skipped.Add($"{label}: 32-bit, not read");
                continue;
            }
            var slice = file.Slice(sliceOffset, sliceLength, label);
            images.Add(MachOImage.Read(slice, label));
        }
        if (images.Count == 0) throw file.Corrupt("universal Mach-O holds no 64-bit architecture: " + string.Join("; ", skipped));
        return new MachOFile(file, universal: true, images, skipped);
    }

    public void Dispose() => _file.Dispose();

    internal static string ReadFixedName(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }
}

/// <summary>
/// One 64-bit Mach-O image (an app binary, a dylib, or a dSYM's DWARF companion): its UUID,
/// segments, sections and function symbols. Matrix frames are <c>uuid@offset</c> with offset =
/// pc − the image's __TEXT start, so an offset is looked up at __TEXT.vmaddr + offset.
/// </summary>
public sealed class MachOImage
{
    private const uint LoadCommandSymbolTable = 0x2;  // LC_SYMTAB
    private const uint LoadCommandSegment64 = 0x19;   // LC_SEGMENT_64
    private const uint LoadCommandUuid = 0x1b;        // LC_UUID
    private const int HeaderSize = 32;
    private const int SegmentCommandSize = 72;
    private const int SectionSize = 80;
    private const int NlistSize = 16;

    private readonly BinaryFile _file;
    private readonly string _label;
    private readonly (uint SymbolOffset, uint SymbolCount, uint StringOffset, uint StringSize)? _symbolTable;

    private MachOImage(BinaryFile file, string label, uint cpuType, uint cpuSubtype, uint fileType, string? uuid,
        ulong? textAddress, List<MachOSection> sections, (uint, uint, uint, uint)? symbolTable)
    {
        _file = file;
        _label = label;
        CpuType = cpuType;
        CpuSubtype = cpuSubtype;
        FileType = fileType;
        Uuid = uuid;
        TextVmAddress = textAddress;
        Sections = sections;
        _symbolTable = symbolTable;
    }

    public uint CpuType { get; }
    public uint CpuSubtype { get; }

    /// <summary>"arm64", "arm64e", "x86_64", "x86_64h", or the raw numbers for others.</summary>
    public string Architecture => ArchitectureName(CpuType, CpuSubtype);

    /// <summary>MH_EXECUTE 2, MH_DYLIB 6, MH_BUNDLE 8, MH_DSYM 10.</summary>
    public uint FileType { get; }

    /// <summary>LC_UUID in lower-case hex without dashes (the form <see cref="BuildIds.Normalize"/> gives).</summary>
    public string? Uuid { get; }

    /// <summary>The __TEXT segment's vmaddr: Matrix offsets are relative to it.</summary>
    public ulong? TextVmAddress { get; }

    public IReadOnlyList<MachOSection> Sections { get; }

    public bool HasSymbolTable => _symbolTable is { SymbolCount: > 0 };

    /// <summary>A __DWARF,__debug_info section with contents: a dSYM companion, or a binary with DWARF in it.</summary>
    public bool HasDebugInfo => Sections.Any(s => s.Segment == "__DWARF" && s.Name == "__debug_info" && s.Size > 0 && s.FileOffset != 0);

    /// <summary>The address of a Matrix offset: __TEXT.vmaddr + offset.</summary>
    public ulong AddressOfOffset(ulong offset) =>
        (TextVmAddress ?? throw _file.Corrupt($"{Describe()} has no __TEXT segment: offsets cannot be placed")) + offset;

    private string Describe() => _label.Length == 0 ? "the image" : _label;

    internal static string ArchitectureName(uint cpuType, uint cpuSubtype) => (cpuType, cpuSubtype & 0x00ffffff) switch
    {
        (0x0100000c, 2) => "arm64e",
        (0x0100000c, _) => "arm64",
        (0x01000007, 8) => "x86_64h",
        (0x01000007, _) => "x86_64",
        (0x0000000c, _) => "arm",
        (0x0200000c, _) => "arm64_32",
        (0x00000007, _) => "i386",
        _ => $"cputype 0x{cpuType:x} subtype 0x{cpuSubtype:x}",
    };

    internal static MachOImage Read(BinaryFile file, string? architectureLabel)
    {
        var label = architectureLabel ?? "";
        var at = label.Length == 0 ? "" : label + ": ";
        if (file.Length < HeaderSize) throw file.Corrupt($"{at}too short for a Mach-O header ({file.Length} of {HeaderSize} bytes)");
        var header = file.Read(0, HeaderSize, $"{at}Mach-O header");
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magic == 0xfeedface) throw file.Corrupt($"{at}is a 32-bit Mach-O image: Foom reads 64-bit Mach-O only");
        if (magic is 0xcffaedfe or 0xcefaedfe) throw file.Corrupt($"{at}is a big-endian Mach-O image: Foom reads little-endian Mach-O only");
        if (magic != 0xfeedfacf) throw file.Corrupt($"{at}is not a Mach-O file (magic 0x{magic:x8})");
        var cpuType = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
        var cpuSubtype = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        var fileType = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12));
        var commandCount = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(16));
        var commandsSize = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(20));
        if (label.Length == 0) label = ArchitectureName(cpuType, cpuSubtype);
        at = label + ": ";
        var commands = file.Read(HeaderSize, commandsSize, $"{at}load commands");

        string? uuid = null;
        ulong? textAddress = null;
        var sections = new List<MachOSection>();
        (uint, uint, uint, uint)? symbolTable = null;
        var position = 0;
        for (uint i = 0; i < commandCount; i++)
        {
            if (commands.Length - position < 8) throw file.Corrupt($"{at}load command {i} of {commandCount} runs past the {commandsSize} bytes of load commands");
            var command = BinaryPrimitives.ReadUInt32LittleEndian(commands.AsSpan(position));
            var size = BinaryPrimitives.ReadUInt32LittleEndian(commands.AsSpan(position + 4));
            if (size < 8 || size > (uint)(commands.Length - position))
                throw file.Corrupt($"{at}load command {i} (0x{command:x}) has size {size}, outside the {commandsSize} bytes of load commands");
            var body = commands.AsSpan(position, (int)size);
            switch (command)
            {
                case LoadCommandUuid:
                    if (size < 24) throw file.Corrupt($"{at}LC_UUID is {size} bytes, too short for a UUID");
                    uuid = Convert.ToHexStringLower(body.Slice(8, 16));
                    break;
                case LoadCommandSymbolTable:
                    if (size < 24) throw file.Corrupt($"{at}LC_SYMTAB is {size} bytes, too short");
                    symbolTable = (BinaryPrimitives.ReadUInt32LittleEndian(body[8..]), BinaryPrimitives.ReadUInt32LittleEndian(body[12..]),
                        BinaryPrimitives.ReadUInt32LittleEndian(body[16..]), BinaryPrimitives.ReadUInt32LittleEndian(body[20..]));
                    break;
                case LoadCommandSegment64:
                    if (size < SegmentCommandSize) throw file.Corrupt($"{at}LC_SEGMENT_64 is {size} bytes, too short");
                    var segmentName = MachOFile.ReadFixedName(body.Slice(8, 16));
                    var vmAddress = BinaryPrimitives.ReadUInt64LittleEndian(body[24..]);
                    var sectionCount = BinaryPrimitives.ReadUInt32LittleEndian(body[64..]);
                    if (sectionCount > (size - SegmentCommandSize) / SectionSize)
                        throw file.Corrupt($"{at}segment {segmentName} claims {sectionCount} sections, more than its load command holds");
                    if (segmentName == "__TEXT") textAddress = vmAddress;
                    for (var s = 0; s < sectionCount; s++)
                    {
                        var section = body.Slice(SegmentCommandSize + s * SectionSize, SectionSize);
                        sections.Add(new MachOSection(
                            Segment: MachOFile.ReadFixedName(section.Slice(16, 16)),
                            Name: MachOFile.ReadFixedName(section[..16]),
                            Address: BinaryPrimitives.ReadUInt64LittleEndian(section[32..]),
                            Size: BinaryPrimitives.ReadUInt64LittleEndian(section[40..]),
                            FileOffset: BinaryPrimitives.ReadUInt32LittleEndian(section[48..]),
                            Flags: BinaryPrimitives.ReadUInt32LittleEndian(section[64..])));
                    }
                    break;
            }
            position += (int)size;
        }
        if (symbolTable is { } table)
        {
            file.CheckRange(table.Item1, (long)table.Item2 * NlistSize, $"{at}symbol table (LC_SYMTAB)");
            file.CheckRange(table.Item3, table.Item4, $"{at}string table (LC_SYMTAB)");
        }
        return new MachOImage(file, label, cpuType, cpuSubtype, fileType, uuid, textAddress, sections, symbolTable);
    }

    /// <summary>
    /// The function symbols of LC_SYMTAB: defined symbols in code sections (stabs excluded), with
    /// the leading underscore of C and C++ names removed. nlist has no sizes: each function runs
    /// to the next symbol or the end of its section.
    /// </summary>
    public SymbolTable ReadFunctionSymbols()
    {
        var builder = new SymbolTableBuilder();
        if (_symbolTable is not { } table || table.SymbolCount == 0) return builder.Build();
        var at = _label + ": ";
        var symbols = _file.Read(table.SymbolOffset, (long)table.SymbolCount * NlistSize, $"{at}symbol table");
        var strings = _file.Read(table.StringOffset, table.StringSize, $"{at}string table");
        var blob = builder.AddNames(strings);

        var found = new List<(ulong Address, int Section, int NameOffset, int NameLength, int Rank)>();
        for (var i = 0; i < (int)table.SymbolCount; i++)
        {
            var entry = symbols.AsSpan(i * NlistSize, NlistSize);
            var nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            var type = entry[4];
            var section = entry[5];
            var value = BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]);
            if ((type & 0xe0) != 0 || (type & 0x0e) != 0x0e) continue;  // a stab, or not defined in a section
            if (section == 0 || section > Sections.Count || !Sections[section - 1].IsCode) continue;
            if (nameOffset >= strings.Length) { builder.Skip(); continue; }
            var nameEnd = Array.IndexOf(strings, (byte)0, (int)nameOffset);
            var start = (int)nameOffset;
            var length = (nameEnd < 0 ? strings.Length : nameEnd) - start;
            if (length > 1 && strings[start] == (byte)'_') { start++; length--; }
            found.Add((value, section - 1, start, length, (type & 0x01) != 0 ? 3 : 1));
        }

        found.Sort((a, b) => a.Address.CompareTo(b.Address));
        for (var i = 0; i < found.Count; i++)
        {
            var symbol = found[i];
            var code = Sections[symbol.Section];
            var sectionEnd = code.Address + code.Size < code.Address ? ulong.MaxValue : code.Address + code.Size;
            var next = i + 1;
            while (next < found.Count && found[next].Address == symbol.Address) next++;
            var end = next < found.Count ? Math.Min(found[next].Address, sectionEnd) : sectionEnd;
            var size = end > symbol.Address ? end - symbol.Address : 0;
            builder.Add(symbol.Address, size, sectionEnd, blob, symbol.NameOffset, symbol.NameLength, symbol.Rank);
        }
        return builder.Build();
    }
}
