using System.Runtime.CompilerServices;
using Foom.Storage.Mapping;

namespace Foom.Storage.Logs;

/// <summary>
/// A bounded log of fixed-size records in a mapped file, the oldest overwritten: the footprint
/// history the recorder keeps for a chart. It survives SIGKILL like every session table.
///
/// Layout: the common header (Count = records ever appended, Capacity = slots, TypeTag = the
/// caller's tag for <typeparamref name="T"/>) then Capacity slots of sizeof(T) bytes; record n
/// lives in slot n mod Capacity. A record is written, then Count is stored (release). The slot
/// the next record goes to may be half-overwritten when the writer dies, so readers take the
/// newest Capacity − 1 records only.
/// </summary>
public sealed unsafe class CircularLog<T> : IDisposable where T : unmanaged
{
    private readonly MappedFile _file;
    private T* _slots;
    private readonly long _capacity;

    private CircularLog(MappedFile file)
    {
        _file = file;
        _slots = (T*)file.Records;
        _capacity = file.Header.Capacity;
    }

    /// <summary>
    /// Creates the log at <paramref name="path"/> with room for <paramref name="capacity"/> − 1
    /// readable records; <paramref name="typeTag"/> identifies <typeparamref name="T"/> and its
    /// version (choose a constant and change it when the struct changes).
    /// </summary>
    public static CircularLog<T> Create(string path, int capacity, ulong typeTag)
    {
        if (capacity < 2) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "a circular log needs at least 2 slots");
        return new CircularLog<T>(MappedFile.Create(path, TableKind.CircularLog, capacity, sizeof(T), typeTag));
    }

    /// <summary>Opens the log for reading; a missing, damaged or other-typed file throws <see cref="SessionFormatException"/>.</summary>
    public static CircularLog<T> OpenReadOnly(string path, ulong typeTag)
    {
        return new CircularLog<T>(WithSlots(MappedFile.OpenReadOnly(path, TableKind.CircularLog, sizeof(T), typeTag), path));
    }

    /// <summary>
    /// Opens an existing log to append to it, for a writer that takes over a session whose writer
    /// died; a damaged or other-typed file throws <see cref="SessionFormatException"/>.
    /// </summary>
    public static CircularLog<T> OpenWritable(string path, ulong typeTag)
    {
        var file = WithSlots(MappedFile.OpenWritable(path, TableKind.CircularLog, sizeof(T), typeTag), path);
        file.MarkWriting();
        return new CircularLog<T>(file);
    }

    private static MappedFile WithSlots(MappedFile file, string path)
    {
        if (file.Header.Capacity >= 2) return file;
        file.Dispose();
        throw new SessionFormatException(path, "the header gives the circular log fewer than 2 slots: corrupt");
    }

    /// <summary>Records appended since the log was created.</summary>
    public long TotalAppended => Volatile.Read(ref _file.Header.Count);

    /// <summary>Records a reader can get: the newest, up to capacity − 1.</summary>
    public int ReadableCapacity => (int)(_capacity - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(in T record)
    {
        var count = _file.Header.Count;
        _slots[count % _capacity] = record;
        Volatile.Write(ref _file.Header.Count, count + 1);
    }

    /// <summary>
    /// The newest records, oldest first. While the writer runs, records it overwrote during the
    /// copy are dropped, so every record returned is whole.
    /// </summary>
    public T[] ReadAll()
    {
        var end = Volatile.Read(ref _file.Header.Count);
        var start = Math.Max(0, end - (_capacity - 1));
        var records = new T[end - start];
        for (var n = start; n < end; n++) records[n - start] = _slots[n % _capacity];
        // A writer that appended k more records meanwhile may have overwritten the k oldest we copied.
        var after = Volatile.Read(ref _file.Header.Count);
        var overwritten = (int)Math.Min(records.Length, Math.Max(0, after - end));
        return overwritten == 0 ? records : records[overwritten..];
    }

    public void Dispose()
    {
        if (_slots == null) return;
        _slots = null;
        if (_file.Writable) _file.MarkClosed();
        _file.Dispose();
    }
}
