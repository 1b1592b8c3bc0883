using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Foom.Storage.Mapping;
using Foom.Storage.Stacks;

namespace Foom.Storage.Modules;

/// <summary>
/// The modules of the target, in modules.foom: a log of load and unload records, so a reader
/// (or a report after a SIGKILL) knows every module a frame can name, loaded or not. The
/// writer keeps the loaded ones sorted by start address to resolve a pc to (module, offset) by
/// binary search.
///
/// Record layout (after the log's 4-byte length): type byte 1 = load: u16 id, u64 load bias,
/// u64 start, u64 size, u16 path length, u16 build-id length, path (UTF-8), build-id (bytes);
/// type byte 2 = unload: u16 id. Little-endian.
/// </summary>
public sealed class ModuleTable : IDisposable
{
    public const string FileName = "modules.foom";
    private const byte LoadRecord = 1;
    private const byte UnloadRecord = 2;

    private readonly ByteLog _log;
    private readonly bool _writable;
    private readonly List<ModuleInfo> _byId = [null!]; // index = id; 0 is "no module"

    // The loaded modules, sorted by start, for Resolve.
    private ulong[] _starts = [];
    private ulong[] _ends = [];
    private ulong[] _biases = [];
    private int[] _ids = [];
    private int _lastHit = -1;

    private ModuleTable(ByteLog log, bool writable)
    {
        _log = log;
        _writable = writable;
    }

    public static ModuleTable Create(string directory) =>
        new(ByteLog.Create(Path.Combine(directory, FileName), TableKind.Modules), writable: true);

    /// <summary>Reads modules.foom; a damaged file throws <see cref="SessionFormatException"/>.</summary>
    public static ModuleTable OpenReadOnly(string directory) =>
        FromLog(ByteLog.OpenReadOnly(Path.Combine(directory, FileName), TableKind.Modules), writable: false);

    /// <summary>Reopens modules.foom to record loads and unloads again (a later writer resuming a session whose writer died).</summary>
    public static ModuleTable Resume(string directory) =>
        FromLog(ByteLog.OpenWritable(Path.Combine(directory, FileName), TableKind.Modules), writable: true);

    private static ModuleTable FromLog(ByteLog log, bool writable)
    {
        var table = new ModuleTable(log, writable);
        try
        {
            foreach (var (offset, record) in log.Records()) table.Replay(offset, record);
            table.RebuildActive();
            return table;
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    /// <summary>Every module ever loaded, by id (ids 1 to Count).</summary>
    public IReadOnlyList<ModuleInfo> All => _byId.Skip(1).ToList();

    public int Count => _byId.Count - 1;

    /// <summary>Loads that could not get an id (more than 65,535 distinct modules): their frames resolve as unknown.</summary>
    public int OverflowCount { get; private set; }

    public ModuleInfo? Find(int id) => id > 0 && id < _byId.Count ? _byId[id] : null;

    /// <summary>
    /// Records a module load and returns its id. Loading again a module identical to an unloaded
    /// one (a dlopen/dlclose loop) revives that id. A loaded module overlapping the new one was
    /// unloaded without Foom seeing it, and is marked unloaded.
    /// </summary>
    public int Load(string path, string? buildId, ulong loadBias, ulong start, ulong size)
    {
        if (!_writable) throw new InvalidOperationException($"{_log.FilePath} is open for reading");
        ArgumentNullException.ThrowIfNull(path);
        buildId = (buildId ?? "").ToLowerInvariant();
        var buildIdBytes = Convert.FromHexString(buildId); // throws FormatException on non-hex
        var end = start + size;
        if (size == 0 || end < start) throw new ArgumentOutOfRangeException(nameof(size), size, "a module occupies at least one byte and does not wrap around");

        foreach (var loaded in _byId.Skip(1).Where(m => m.Loaded && m.Start < end && m.End > start).ToList()) Unload(loaded.Id);

        var revived = _byId.Skip(1).FirstOrDefault(m => !m.Loaded && m.Path == path && m.BuildId == buildId &&
                                                        m.LoadBias == loadBias && m.Start == start && m.Size == size);
        int id;
        if (revived is not null) id = revived.Id;
        else if (_byId.Count <= Frame.MaxModuleId) id = _byId.Count;
        else
        {
            OverflowCount++;
            return 0;
        }

        var pathBytes = Encoding.UTF8.GetBytes(path);
        if (pathBytes.Length > ushort.MaxValue || buildIdBytes.Length > ushort.MaxValue)
            throw new ArgumentException("module path or build-id longer than 65535 bytes", nameof(path));
        var record = new byte[1 + 2 + 8 * 3 + 2 + 2 + pathBytes.Length + buildIdBytes.Length];
        var span = record.AsSpan();
        span[0] = LoadRecord;
        BinaryPrimitives.WriteUInt16LittleEndian(span[1..], (ushort)id);
        BinaryPrimitives.WriteUInt64LittleEndian(span[3..], loadBias);
        BinaryPrimitives.WriteUInt64LittleEndian(span[11..], start);
        BinaryPrimitives.WriteUInt64LittleEndian(span[19..], size);
        BinaryPrimitives.WriteUInt16LittleEndian(span[27..], (ushort)pathBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(span[29..], (ushort)buildIdBytes.Length);
        pathBytes.CopyTo(span[31..]);
        buildIdBytes.CopyTo(span[(31 + pathBytes.Length)..]);
        _log.Append(record);
        Replay(0, record);
        RebuildActive();
        return id;
    }

    /// <summary>Records that module <paramref name="id"/> was unloaded; false if it was not loaded.</summary>
    public bool Unload(int id)
    {
        if (!_writable) throw new InvalidOperationException($"{_log.FilePath} is open for reading");
        if (Find(id) is not { Loaded: true }) return false;
        Span<byte> record = stackalloc byte[3];
        record[0] = UnloadRecord;
        BinaryPrimitives.WriteUInt16LittleEndian(record[1..], (ushort)id);
        _log.Append(record);
        Replay(0, record.ToArray());
        RebuildActive();
        return true;
    }

    /// <summary>The loaded module containing <paramref name="address"/>, or 0.</summary>
    public int ModuleIdAt(ulong address)
    {
        var i = IndexOf(address);
        return i < 0 ? 0 : _ids[i];
    }

    /// <summary>
    /// The frame for <paramref name="pc"/>: (module, pc − load bias) when a loaded module holds
    /// it, else an unknown-module frame keeping the raw address. Allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Frame Resolve(ulong pc)
    {
        var i = IndexOf(pc);
        if (i < 0) return Frame.Unknown(pc);
        var offset = pc - _biases[i];
        return pc >= _biases[i] && offset < Frame.OffsetLimit ? new Frame(((ulong)_ids[i] << 48) | offset) : Frame.Unknown(pc);
    }

    /// <summary>Resolves each of <paramref name="pcs"/> into <paramref name="frames"/> (at least as long).</summary>
    public void Resolve(ReadOnlySpan<ulong> pcs, Span<Frame> frames)
    {
        for (var i = 0; i < pcs.Length; i++) frames[i] = Resolve(pcs[i]);
    }

    private int IndexOf(ulong address)
    {
        // Neighbouring frames usually fall in the same module: try the last one first.
        var last = _lastHit;
        if ((uint)last < (uint)_starts.Length && address >= _starts[last] && address < _ends[last]) return last;
        int lo = 0, hi = _starts.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_starts[mid] <= address) lo = mid + 1;
            else hi = mid - 1;
        }
        if (hi >= 0 && address < _ends[hi])
        {
            _lastHit = hi;
            return hi;
        }
        return -1;
    }

    private void Replay(long offset, byte[] record)
    {
        SessionFormatException Bad(string what) => _log.Fault($"the module record at byte {offset} {what}: corrupt");
        if (record.Length < 3) throw Bad($"is {record.Length} bytes, too short for any record");
        var id = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(1));
        switch (record[0])
        {
            case LoadRecord:
            {
                if (record.Length < 31) throw Bad("is too short for a load record");
                var span = record.AsSpan();
                var bias = BinaryPrimitives.ReadUInt64LittleEndian(span[3..]);
                var start = BinaryPrimitives.ReadUInt64LittleEndian(span[11..]);
                var size = BinaryPrimitives.ReadUInt64LittleEndian(span[19..]);
                int pathLength = BinaryPrimitives.ReadUInt16LittleEndian(span[27..]);
                int buildIdLength = BinaryPrimitives.ReadUInt16LittleEndian(span[29..]);
                if (31 + pathLength + buildIdLength != record.Length) throw Bad("has lengths that do not add up to its size");
                if (id == 0 || id > _byId.Count) throw Bad($"loads module id {id} out of sequence (next new id is {_byId.Count})");
                if (id < _byId.Count && _byId[id].Loaded) throw Bad($"loads module {id} again while it is loaded");
                var path = Encoding.UTF8.GetString(span.Slice(31, pathLength));
                var buildId = Convert.ToHexStringLower(span.Slice(31 + pathLength, buildIdLength));
                var module = new ModuleInfo(id, path, buildId, bias, start, size, Loaded: true);
                if (id == _byId.Count) _byId.Add(module);
                else _byId[id] = module;
                break;
            }
            case UnloadRecord:
                if (id == 0 || id >= _byId.Count || !_byId[id].Loaded) throw Bad($"unloads module {id}, which is not loaded");
                _byId[id] = _byId[id] with { Loaded = false };
                break;
            default:
                throw Bad($"has unknown type {record[0]}");
        }
    }

    private void RebuildActive()
    {
        var loaded = _byId.Skip(1).Where(m => m.Loaded).OrderBy(m => m.Start).ToArray();
        _starts = loaded.Select(m => m.Start).ToArray();
        _ends = loaded.Select(m => m.End).ToArray();
        _biases = loaded.Select(m => m.LoadBias).ToArray();
        _ids = loaded.Select(m => m.Id).ToArray();
        _lastHit = -1;
    }

    public void Dispose() => _log.Dispose();
}
