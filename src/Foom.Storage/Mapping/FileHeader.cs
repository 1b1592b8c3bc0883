using System.Runtime.InteropServices;

namespace Foom.Storage.Mapping;

/// <summary>
/// The first bytes of every session table file (the rest of the header page is the table's own):
/// what the file is, which format version, how big a record is, how many there are, and whether
/// the writer closed it. All little-endian, as on every platform .NET runs Foom on.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct FileHeader
{
    public const int Size = 128;

    /// <summary>Eight ASCII bytes naming the table kind, e.g. "FOOMLIVE".</summary>
    [FieldOffset(0)] public ulong Magic;
    [FieldOffset(8)] public uint FormatVersion;
    /// <summary>Bytes per record (1 for the byte logs of modules and categories).</summary>
    [FieldOffset(12)] public uint RecordSize;
    /// <summary>Bytes before the first record: the header page.</summary>
    [FieldOffset(16)] public uint HeaderSize;
    /// <summary><see cref="WriterStates"/>: still being written (or the writer died), or closed cleanly.</summary>
    [FieldOffset(20)] public uint WriterState;
    /// <summary>Records the file has room for after the header.</summary>
    [FieldOffset(24)] public long Capacity;
    /// <summary>
    /// Records published: everything below it is complete and may be read. The writer stores it
    /// (release) after the records it covers, so a reader that loads it first sees them whole.
    /// </summary>
    [FieldOffset(32)] public long Count;
    /// <summary>Operations completed, stored (release) at the end of each one.</summary>
    [FieldOffset(40)] public long CommitCounter;
    [FieldOffset(48)] public int WriterPid;
    [FieldOffset(56)] public long CreatedUnixMs;
    /// <summary>For circular logs: the caller's tag for its record type, so a reader never misreads another struct.</summary>
    [FieldOffset(64)] public ulong TypeTag;
    /// <summary>
    /// From version 2: CRC-32 of the fields a file keeps for life (magic, version, record size,
    /// header size, creation time, type tag), so a damaged header is named instead of read. The
    /// fields that change while the writer runs (state, capacity, count, commits, pid) are
    /// bounded by the checks on them and on the file's length instead.
    /// </summary>
    [FieldOffset(72)] public uint HeaderChecksum;

    /// <summary>The checksum <see cref="HeaderChecksum"/> should hold for this header.</summary>
    public readonly uint ComputeChecksum()
    {
        Span<byte> fixedFields = stackalloc byte[36];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(fixedFields, Magic);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(fixedFields[8..], FormatVersion);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(fixedFields[12..], RecordSize);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(fixedFields[16..], HeaderSize);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(fixedFields[20..], CreatedUnixMs);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(fixedFields[28..], TypeTag);
        return System.IO.Hashing.Crc32.HashToUInt32(fixedFields);
    }
}

internal static class WriterStates
{
    public const uint Writing = 1;
    public const uint ClosedCleanly = 2;
}

/// <summary>The kinds of table file, each with its magic and record size.</summary>
internal readonly record struct TableKind(string Magic, string Description, int RecordSize)
{
    /// <summary>Version 2 added the header checksum and a CRC-32 per record of the byte logs (modules, categories).</summary>
    public const int FormatVersion = 2;

    /// <summary>The oldest version this Foom still reads (and resumes, in that version's layout).</summary>
    public const int OldestReadableVersion = 1;

    /// <summary>Whether a file of <paramref name="version"/> carries checksums.</summary>
    public static bool HasChecksums(uint version) => version >= 2;
    public const int HeaderSize = 4096;

    public static readonly TableKind Live = new("FOOMLIVE", "live-allocation table", 24);
    public static readonly TableKind StackNodes = new("FOOMSTAK", "stack table", 8);
    public static readonly TableKind Frames = new("FOOMFRAM", "frame table", 8);
    public static readonly TableKind Modules = new("FOOMMODS", "module table", 1);
    public static readonly TableKind Categories = new("FOOMCATS", "category table", 1);
    public static readonly TableKind CircularLog = new("FOOMRING", "circular log", 0);
    public static readonly TableKind StackKeys = new("FOOMSKEY", "stack key table", 16);

    public static readonly TableKind[] All = [Live, StackNodes, Frames, Modules, Categories, CircularLog, StackKeys];

    public ulong MagicValue => MagicOf(Magic);

    public static ulong MagicOf(string magic) =>
        BitConverter.ToUInt64(System.Text.Encoding.ASCII.GetBytes(magic));
}
