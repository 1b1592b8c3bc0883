using System.Text;
using Foom.Storage.Mapping;

namespace Foom.Storage.Categories;

/// <summary>
/// Category names (a managed type, "VM: stack", a name the app gave) and their ids, in
/// categories.foom: a log of UTF-8 names, the n-th record being id n. Id 0 means "no category
/// given": the report then names the allocation by its size ("Malloc 48 Bytes"). Ids fit the
/// 16 bits a live record has for them; past 65,535 names, <see cref="Intern(string)"/> answers 0
/// and counts the overflow.
/// </summary>
public sealed class CategoryTable : IDisposable
{
    public const string FileName = "categories.foom";
    public const int MaxId = ushort.MaxValue;

    private readonly ByteLog _log;
    private readonly bool _writable;
    private readonly List<string> _names = [""];
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _idsBySpan;

    private CategoryTable(ByteLog log, bool writable)
    {
        _log = log;
        _writable = writable;
        _idsBySpan = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public static CategoryTable Create(string directory) =>
        new(ByteLog.Create(Path.Combine(directory, FileName), TableKind.Categories), writable: true);

    /// <summary>Reads categories.foom; a damaged file throws <see cref="SessionFormatException"/>.</summary>
    public static CategoryTable OpenReadOnly(string directory) =>
        FromLog(ByteLog.OpenReadOnly(Path.Combine(directory, FileName), TableKind.Categories), writable: false);

    /// <summary>Reopens categories.foom to add names again (a later writer resuming a session whose writer died).</summary>
    public static CategoryTable Resume(string directory) =>
        FromLog(ByteLog.OpenWritable(Path.Combine(directory, FileName), TableKind.Categories), writable: true);

    private static CategoryTable FromLog(ByteLog log, bool writable)
    {
        var table = new CategoryTable(log, writable);
        try
        {
            foreach (var (offset, record) in log.Records())
            {
                string name;
                try { name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(record); }
                catch (DecoderFallbackException e) { throw log.Fault($"the category name at byte {offset} is not valid UTF-8: {e.Message}"); }
                if (table._names.Count > MaxId) throw log.Fault($"holds more than {MaxId} categories: corrupt");
                table.Add(name);
            }
            return table;
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    /// <summary>Names known, including the empty name of id 0.</summary>
    public int Count => _names.Count;

    /// <summary>Names refused because every id was taken.</summary>
    public int OverflowCount { get; private set; }

    public IReadOnlyList<string> Names => _names;

    /// <summary>The name of <paramref name="id"/>; "" for 0; null when no such id.</summary>
    public string? Name(int id) => (uint)id < (uint)_names.Count ? _names[id] : null;

    public bool TryGetId(ReadOnlySpan<char> name, out int id) => _idsBySpan.TryGetValue(name, out id);

    /// <summary>The id of <paramref name="name"/>, adding it when new. Finding a known name allocates nothing.</summary>
    public int Intern(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty) return 0;
        if (_idsBySpan.TryGetValue(name, out var id)) return id;
        return Add(name.ToString(), persist: true);
    }

    /// <inheritdoc cref="Intern(ReadOnlySpan{char})"/>
    public int Intern(string name) => Intern(name.AsSpan());

    private int Add(string name, bool persist = false)
    {
        if (persist)
        {
            if (!_writable) throw new InvalidOperationException($"{_log.FilePath} is open for reading");
            if (_names.Count > MaxId)
            {
                OverflowCount++;
                return 0;
            }
            _log.Append(Encoding.UTF8.GetBytes(name));
        }
        var id = _names.Count;
        _names.Add(name);
        _ids.TryAdd(name, id);
        return id;
    }

    public void Dispose() => _log.Dispose();
}
