using System.Buffers.Binary;

namespace Foom.Storage.Mapping;

/// <summary>
/// An append-only log of variable-length records in a mapped file (record size 1, so the
/// header's Count is the bytes used): each record is a 4-byte length and that many bytes. A
/// record is written, then Count is stored (release) past it, so readers and a report after a
/// SIGKILL see whole records only. For the small tables (modules, categories).
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

    public void Append(ReadOnlySpan<byte> record)
    {
        var used = _file.Header.Count;
        _file.EnsureCapacity(used + 4 + record.Length);
        var at = new Span<byte>(_file.Records + used, 4 + record.Length);
        BinaryPrimitives.WriteInt32LittleEndian(at, record.Length);
        record.CopyTo(at[4..]);
        Volatile.Write(ref _file.Header.Count, used + 4 + record.Length);
    }

    /// <summary>Every whole record, in order, with its offset; a length that runs past the end throws naming the offset.</summary>
    public List<(long Offset, byte[] Record)> Records()
    {
        var used = Math.Min(BytesUsed, _file.MappedCapacity);
        var records = new List<(long, byte[])>();
        long offset = 0;
        while (offset < used)
        {
            if (used - offset < 4)
                throw Fault($"the record at byte {offset} is cut short ({used - offset} bytes left for its 4-byte length): corrupt");
            var length = BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(_file.Records + offset, 4));
            if (length < 0 || length > used - offset - 4)
                throw Fault($"the record at byte {offset} claims {length} bytes but only {used - offset - 4} follow: corrupt");
            records.Add((offset, new ReadOnlySpan<byte>(_file.Records + offset + 4, length).ToArray()));
            offset += 4 + length;
        }
        return records;
    }

    public void Dispose()
    {
        if (_file.Writable) _file.MarkClosed();
        _file.Dispose();
    }
}
