using System.Buffers.Binary;
using System.IO.Hashing;

namespace Foom.Storage.Mapping;

/// <summary>
/// An append-only log of variable-length records in a mapped file (record size 1, so the
/// header's Count is the bytes used): each record is a 4-byte length, from format version 2 a
/// 4-byte CRC-32 of the length and the bytes, and that many bytes. A record is written, then
/// Count is stored (release) past it, so readers and a report after a SIGKILL see whole records
/// only (a torn last record lies past Count: recovery, not corruption); a record below Count
/// whose checksum fails is damage, named by its number. For the small tables (modules, categories).
/// </summary>
internal sealed unsafe class ByteLog : IDisposable
{
    private readonly MappedFile _file;

    private ByteLog(MappedFile file) => _file = file;

    public static ByteLog Create(string path, TableKind kind, long initialBytes = 64 * 1024) =>
        new(MappedFile.Create(path, kind, initialBytes));

    public static ByteLog OpenReadOnly(string path, TableKind kind) => new(MappedFile.OpenReadOnly(path, kind));

    /// <summary>Opens the log to append to it again (a later writer resuming a session); bytes past the published count are overwritten.</summary>
    public static ByteLog OpenWritable(string path, TableKind kind)
    {
        var file = MappedFile.OpenWritable(path, kind);
        file.MarkWriting();
        return new ByteLog(file);
    }

    public string FilePath => _file.FilePath;

    public long BytesUsed => Volatile.Read(ref _file.Header.Count);

    public SessionFormatException Fault(string problem) => _file.Fault(problem);

    /// <summary>Bytes before a record's own: its length, and its checksum where the format has one.</summary>
    private int Prefix => _file.HasChecksums ? 8 : 4;

    public void Append(ReadOnlySpan<byte> record)
    {
        var used = _file.Header.Count;
        var prefix = Prefix;
        _file.EnsureCapacity(used + prefix + record.Length);
        var at = new Span<byte>(_file.Records + used, prefix + record.Length);
        BinaryPrimitives.WriteInt32LittleEndian(at, record.Length);
        record.CopyTo(at[prefix..]);
        if (prefix == 8) BinaryPrimitives.WriteUInt32LittleEndian(at[4..], Checksum(at[..4], record));
        Volatile.Write(ref _file.Header.Count, used + prefix + record.Length);
    }

    private static uint Checksum(ReadOnlySpan<byte> length, ReadOnlySpan<byte> record)
    {
        var crc = new Crc32();
        crc.Append(length);
        crc.Append(record);
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>
    /// Every whole record, in order, with its offset; a length that runs past the end, or a
    /// record that fails its checksum, throws naming the record (numbered from 1) and its offset.
    /// </summary>
    public List<(long Offset, byte[] Record)> Records()
    {
        var used = Math.Min(BytesUsed, _file.MappedCapacity);
        var prefix = Prefix;
        var records = new List<(long, byte[])>();
        long offset = 0;
        while (offset < used)
        {
            var number = records.Count + 1;
            if (used - offset < prefix)
                throw Fault($"record {number} (at byte {offset}) is cut short ({used - offset} bytes left for its {prefix}-byte prefix): corrupt");
            var length = BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(_file.Records + offset, 4));
            if (length < 0 || length > used - offset - prefix)
                throw Fault($"record {number} (at byte {offset}) claims {length} bytes but only {used - offset - prefix} follow: corrupt");
            var record = new ReadOnlySpan<byte>(_file.Records + offset + prefix, length);
            if (prefix == 8 && BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(_file.Records + offset + 4, 4))
                != Checksum(new ReadOnlySpan<byte>(_file.Records + offset, 4), record))
                throw Fault($"record {number} (at byte {offset}) fails its checksum: corrupt");
            records.Add((offset, record.ToArray()));
            offset += prefix + length;
        }
        return records;
    }

    public void Dispose()
    {
        if (_file.Writable) _file.MarkClosed();
        _file.Dispose();
    }
}
