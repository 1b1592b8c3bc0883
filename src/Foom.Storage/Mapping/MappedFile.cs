using System.IO.MemoryMappedFiles;

namespace Foom.Storage.Mapping;

/// <summary>
/// One session table file mapped into memory: a header page (<see cref="FileHeader"/> plus the
/// table's own fields) followed by fixed-size records. The writer grows it by extending the file
/// and remapping, in doubling steps so that a table of N records is remapped about log2(N) times;
/// the file is sparse, so room not yet written costs no disk and no memory.
///
/// The mapping is shared with the page cache: a store is in the file the moment it executes, so
/// a writer killed by SIGKILL leaves every completed store behind (a machine crash is another
/// matter, and not what Foom guards against). Readers map the same file read-only and see the
/// writer's stores as they happen.
///
/// MemoryMappedFile rather than mmap through P/Invoke: both hand out the same raw pointer, so
/// record access costs the same; they differ only in how a grow is done (unmap + map against
/// mremap), which happens a few dozen times in a session. It keeps the engine platform-neutral.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly TableKind _kind;
    private MemoryMappedFile? _map;
    private MemoryMappedViewAccessor? _view;
    private byte* _pointer;

    private MappedFile(string path, FileStream stream, TableKind kind, int recordSize, bool writable)
    {
        FilePath = path;
        _stream = stream;
        _kind = kind;
        RecordSize = recordSize;
        Writable = writable;
    }

    public string FilePath { get; }
    public int RecordSize { get; }
    public bool Writable { get; }

    /// <summary>Bytes mapped (the file's length when it was last mapped).</summary>
    public long MappedLength { get; private set; }

    public byte* Pointer => _pointer;
    public ref FileHeader Header => ref *(FileHeader*)_pointer;

    /// <summary>The table's own header fields, after the common ones.</summary>
    public byte* TableHeader => _pointer + FileHeader.Size;

    public byte* Records => _pointer + TableKind.HeaderSize;

    /// <summary>Records the current mapping has room for.</summary>
    public long MappedCapacity => (MappedLength - TableKind.HeaderSize) / RecordSize;

    /// <summary>Creates the file (it must not exist) with room for <paramref name="initialRecords"/>.</summary>
    public static MappedFile Create(string path, TableKind kind, long initialRecords, int recordSize = 0, ulong typeTag = 0)
    {
        if (recordSize == 0) recordSize = kind.RecordSize;
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite);
        var file = new MappedFile(path, stream, kind, recordSize, writable: true);
        try
        {
            stream.SetLength(TableKind.HeaderSize + initialRecords * recordSize);
            file.Map();
            ref var header = ref file.Header;
            header.FormatVersion = TableKind.FormatVersion;
            header.RecordSize = (uint)recordSize;
            header.HeaderSize = TableKind.HeaderSize;
            header.WriterState = WriterStates.Writing;
            header.Capacity = initialRecords;
            header.Count = 0;
            header.CommitCounter = 0;
            header.WriterPid = Environment.ProcessId;
            header.CreatedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            header.TypeTag = typeTag;
            var complete = header with { Magic = kind.MagicValue };
            header.HeaderChecksum = complete.ComputeChecksum();
            // The magic goes last: a file whose creation was cut short is not mistaken for a table.
            Volatile.Write(ref header.Magic, kind.MagicValue);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens an existing table read-only and checks its header: a missing, truncated, foreign or
    /// corrupt file throws <see cref="SessionFormatException"/> naming it and the fault.
    /// </summary>
    public static MappedFile OpenReadOnly(string path, TableKind kind, int recordSize = 0, ulong typeTag = 0) =>
        OpenExisting(path, kind, recordSize, typeTag, writable: false);

    /// <summary>
    /// Opens an existing table for writing again, after its writer died (or closed it): the
    /// header is checked as <see cref="OpenReadOnly"/> checks it. The caller holds the session's
    /// writer lock, and calls <see cref="MarkWriting"/> once it has looked at the old state.
    /// </summary>
    public static MappedFile OpenWritable(string path, TableKind kind, int recordSize = 0, ulong typeTag = 0) =>
        OpenExisting(path, kind, recordSize, typeTag, writable: true);

    private static MappedFile OpenExisting(string path, TableKind kind, int recordSize, ulong typeTag, bool writable)
    {
        if (recordSize == 0) recordSize = kind.RecordSize;
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite);
        }
        catch (FileNotFoundException e)
        {
            throw new SessionFormatException(path, $"the {kind.Description} file is missing", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SessionFormatException(path, $"cannot open the {kind.Description} file{(writable ? " for writing" : "")}: {e.Message}", e);
        }

        var file = new MappedFile(path, stream, kind, recordSize, writable);
        try
        {
            if (stream.Length < TableKind.HeaderSize)
                throw file.Fault($"the file is {stream.Length} bytes, shorter than its {TableKind.HeaderSize}-byte header: truncated");
            file.Map();
            file.CheckHeader(typeTag);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public SessionFormatException Fault(string problem) => new(FilePath, problem);

    /// <summary>Whether the file's format carries checksums (<see cref="TableKind.HasChecksums"/>).</summary>
    public bool HasChecksums => TableKind.HasChecksums(Header.FormatVersion);

    private void CheckHeader(ulong typeTag)
    {
        ref var header = ref Header;
        var magic = header.Magic;
        if (magic != _kind.MagicValue)
        {
            var other = TableKind.All.FirstOrDefault(k => k.MagicValue == magic);
            throw Fault(other.Magic is not null
                ? $"is a Foom {other.Description} file, not a {_kind.Description} file"
                : header.Magic == 0
                    ? $"is not a Foom {_kind.Description} file: its header is blank (the writer died while creating it, or the file was zeroed)"
                    : $"is not a Foom {_kind.Description} file (its first bytes are 0x{header.Magic:x16})");
        }
        if (header.FormatVersion is < TableKind.OldestReadableVersion or > TableKind.FormatVersion)
            throw Fault($"has format version {header.FormatVersion}; this Foom reads versions {TableKind.OldestReadableVersion} to {TableKind.FormatVersion}");
        if (header.HeaderSize != TableKind.HeaderSize)
            throw Fault($"header size is {header.HeaderSize} bytes; version {TableKind.FormatVersion} uses {TableKind.HeaderSize}");
        if (header.RecordSize != RecordSize)
            throw Fault($"records are {header.RecordSize} bytes; this reader expects {RecordSize}");
        if (header.TypeTag != typeTag)
            throw Fault($"holds records of type tag 0x{header.TypeTag:x16}, not the expected 0x{typeTag:x16}");
        if (header.WriterState is not (WriterStates.Writing or WriterStates.ClosedCleanly))
            throw Fault($"writer state {header.WriterState} is not a known state: corrupt header");
        if (TableKind.HasChecksums(header.FormatVersion) && header.HeaderChecksum != header.ComputeChecksum())
            throw Fault($"the header fails its checksum (0x{header.HeaderChecksum:x8}, its fields give 0x{header.ComputeChecksum():x8}): corrupt header");
        var capacity = header.Capacity;
        if (capacity < 0 || capacity > MappedCapacity)
            throw Fault($"the header says there is room for {capacity} records ({TableKind.HeaderSize + capacity * RecordSize} bytes) " +
                        $"but the file is {MappedLength} bytes: truncated");
        var count = Volatile.Read(ref header.Count);
        // A circular log counts every record ever appended; every other table counts records held.
        if (count < 0 || (count > capacity && _kind != TableKind.CircularLog))
            throw Fault($"the header says {count} records are in use but there is room for {capacity}: corrupt header");
    }

    /// <summary>
    /// Makes room for at least <paramref name="records"/> records, doubling the file (at least)
    /// and remapping. Every pointer into the old mapping is stale afterwards.
    /// </summary>
    public void EnsureCapacity(long records)
    {
        ref var header = ref Header;
        if (records <= header.Capacity) return;
        var newCapacity = Math.Max(records, Math.Max(1024, header.Capacity * 2));
        Unmap();
        // Length first, header second: a reader never sees a capacity the file does not have.
        _stream.SetLength(TableKind.HeaderSize + newCapacity * RecordSize);
        Map();
        Volatile.Write(ref Header.Capacity, newCapacity);
    }

    /// <summary>Whether the last writer closed the file cleanly.</summary>
    public bool ClosedCleanly => Volatile.Read(ref Header.WriterState) == WriterStates.ClosedCleanly;

    /// <summary>Marks the file as being written by this process (a writer resuming it).</summary>
    public void MarkWriting()
    {
        Header.WriterPid = Environment.ProcessId;
        Volatile.Write(ref Header.WriterState, WriterStates.Writing);
    }

    /// <summary>Marks the file closed cleanly (writer only).</summary>
    public void MarkClosed() => Volatile.Write(ref Header.WriterState, WriterStates.ClosedCleanly);

    private void Map()
    {
        MappedLength = _stream.Length;
        var access = Writable ? MemoryMappedFileAccess.ReadWrite : MemoryMappedFileAccess.Read;
        _map = MemoryMappedFile.CreateFromFile(_stream, null, 0, access, HandleInheritability.None, leaveOpen: true);
        _view = _map.CreateViewAccessor(0, 0, access);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _pointer = pointer + _view.PointerOffset;
    }

    private void Unmap()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            // Unmapped through its handle first, so that the accessor's Dispose finds the view
            // closed and skips its msync(MS_SYNC): a write to disk of every dirty page, which
            // held each grow and the end of every run on the disk for nothing (see above: the
            // page cache already has every store, for readers and past a SIGKILL).
            _view.SafeMemoryMappedViewHandle.Dispose();
            _view.Dispose();
            _view = null;
        }
        _map?.Dispose();
        _map = null;
        _pointer = null;
    }

    public void Dispose()
    {
        Unmap();
        _stream.Dispose();
    }
}
