using System.Runtime.InteropServices;
using Foom.Storage.Mapping;

namespace Foom.Storage.Stacks;

/// <summary>
/// The event source's own names for stacks: a 64-bit key (the hook's hash over a stack's raw
/// pcs, which it sends instead of the frames once a thread has sent them) and the stack id the
/// frames were interned as. Append-only in stackkeys.foom (16-byte records: key, stack id); the
/// latest record for a key wins. Written only when the writer learns a new key, or a key comes to
/// mean another stack, so it costs nothing per event. A writer that resumes a session after its
/// predecessor died needs it: the events left in the ring name most stacks by key alone, and the
/// frames were sent long before.
/// </summary>
public sealed unsafe class StackKeyTable : IDisposable
{
    public const string FileName = "stackkeys.foom";

    private readonly MappedFile _file;

    private StackKeyTable(MappedFile file) => _file = file;

    /// <summary>Creates stackkeys.foom in <paramref name="directory"/> (it must not exist).</summary>
    public static StackKeyTable Create(string directory) =>
        new(MappedFile.Create(Path.Combine(directory, FileName), TableKind.StackKeys, 1024));

    /// <summary>
    /// Reopens stackkeys.foom to append to it again (creating it for a session written before
    /// Foom kept one); records past the published count are overwritten. A damaged file throws
    /// <see cref="SessionFormatException"/>.
    /// </summary>
    public static StackKeyTable Resume(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return Create(directory);
        var file = MappedFile.OpenWritable(path, TableKind.StackKeys);
        file.MarkWriting();
        return new StackKeyTable(file);
    }

    /// <summary>Records published.</summary>
    public long Count => Volatile.Read(ref _file.Header.Count);

    /// <summary>Records that <paramref name="key"/> names stack <paramref name="stackId"/> from now on.</summary>
    public void Append(ulong key, int stackId)
    {
        var count = _file.Header.Count;
        _file.EnsureCapacity(count + 1);
        ((StackKeyRecord*)_file.Records)[count] = new StackKeyRecord(key, stackId);
        Volatile.Write(ref _file.Header.Count, count + 1);
    }

    /// <summary>
    /// Every record, in the order written: a later record for a key supersedes an earlier one. A
    /// recorder that resumes the session notes them in that order in its own table of stacks by
    /// hash, so the last wins there, with no table of their own built here. A stack id at or beyond <paramref name="stackCount"/> (the stack table's nodes) is a fault
    /// naming the file.
    /// </summary>
    public List<(ulong Key, int StackId)> ReadAll(int stackCount)
    {
        var count = Volatile.Read(ref _file.Header.Count);
        var records = (StackKeyRecord*)_file.Records;
        var keys = new List<(ulong Key, int StackId)>((int)Math.Min(count, 1 << 20));
        for (long i = 0; i < count; i++)
        {
            var record = records[i];
            if ((uint)record.StackId >= (uint)stackCount)
                throw _file.Fault($"record {i} names stack {record.StackId}, but the stack table holds {stackCount} nodes: the files do not belong together or one is damaged");
            keys.Add((record.Key, record.StackId));
        }
        return keys;
    }

    public void Dispose()
    {
        if (_file.Writable) _file.MarkClosed();
        _file.Dispose();
    }

    [StructLayout(LayoutKind.Sequential, Size = 16)]
    private readonly record struct StackKeyRecord(ulong Key, int StackId);
}
