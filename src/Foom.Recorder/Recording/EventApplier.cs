using System.Text;
using Foom.Ring;
using Foom.Storage;
using Foom.Storage.Live;
using Foom.Storage.Stacks;

namespace Foom.Recorder.Recording;

/// <summary>
/// Applies the hook's events, in ring order, to the session's tables. Runs on the recorder's one
/// draining thread and allocates nothing per allocation or free: a stack seen before is found by
/// the hash the hook computed over its raw pcs; a new one is resolved to (module, offset) frames
/// into a reused buffer and interned. Rare events (modules, file mappings, exec) may allocate.
/// </summary>
public sealed class EventApplier
{
    private const int MaxFrames = 64;

    private readonly SessionTables _tables;
    private readonly Dictionary<ulong, int> _stackIdByRawHash = new(capacity: 1 << 14);
    private readonly Frame[] _frames = new Frame[MaxFrames];
    private readonly Dictionary<string, int> _fileCategoryByPath = new(StringComparer.Ordinal);
    private readonly RecentlyUnmapped _recentlyUnmapped = new();
    private readonly int _anonymousCategory;
    private readonly int _stackCategory;
    private readonly int _sharedCategory;

    public EventApplier(SessionTables tables)
    {
        _tables = tables;
        _anonymousCategory = tables.Categories.Intern("VM: anonymous");
        _stackCategory = tables.Categories.Intern("VM: stack");
        _sharedCategory = tables.Categories.Intern("VM: shared");
    }

    /// <summary>Events applied since the session started.</summary>
    public long Applied { get; private set; }

    /// <summary>Times the target exec'ed (the same pid attached again): each reset the live tables.</summary>
    public int Execs { get; private set; }

    /// <summary>The pid that attached, once it has.</summary>
    public int AttachedPid { get; private set; }

    /// <summary>Stacks that arrived by hash only and were unknown to the ring consumer.</summary>
    public long UnknownStacks { get; private set; }

    public void Apply(in RingEvent ring)
    {
        Applied++;
        switch (ring.Kind)
        {
            case RecordKind.Alloc:
                _tables.Live.InsertHeap(ring.Address, ring.Size, StackOf(ring));
                break;
            case RecordKind.Free:
                _tables.Live.RemoveHeap(ring.Address);
                break;
            case RecordKind.Map:
                ApplyMap(ring);
                break;
            case RecordKind.Unmap:
                if (_tables.Live.TryGetMapping(ring.Address, out var unmapped))
                    _recentlyUnmapped.Remember(ring.Address, unmapped.CategoryId);
                _tables.Live.RemoveMappingRange(ring.Address, ring.Size);
                break;
            case RecordKind.ModuleLoad:
                _tables.Modules.Load(ring.PathText(), ring.BuildIdText(), ring.Base, ring.Start, ring.Size);
                // A module loaded where another was unloaded turns old raw pcs into new frames.
                _stackIdByRawHash.Clear();
                break;
            case RecordKind.ModuleUnload:
                var id = _tables.Modules.ModuleIdAt(ring.Start);
                if (id > 0) _tables.Modules.Unload(id);
                _stackIdByRawHash.Clear();
                break;
            case RecordKind.Attach:
                ApplyAttach(ring);
                break;
        }
    }

    private void ApplyMap(in RingEvent ring)
    {
        var category = ring.MapKind switch
        {
            MapKind.Stack => _stackCategory,
            MapKind.Shared => _sharedCategory,
            MapKind.File => FileCategory(ring.Path),
            MapKind.Remap => _recentlyUnmapped.CategoryOf(ring.OldAddress) ?? _anonymousCategory,
            _ => _anonymousCategory,
        };
        _tables.Live.InsertMapping(ring.Address, ring.Size, StackOf(ring), category);
    }

    private int FileCategory(ReadOnlySpan<byte> path)
    {
        var text = Encoding.UTF8.GetString(path);
        if (_fileCategoryByPath.TryGetValue(text, out var category)) return category;
        var name = Path.GetFileName(text);
        category = _tables.Categories.Intern("VM: file " + (name.Length == 0 ? text : name));
        _fileCategoryByPath[text] = category;
        return category;
    }

    private void ApplyAttach(in RingEvent ring)
    {
        if (AttachedPid != 0 && ring.AttachFlags.HasFlag(AttachFlags.Exec))
        {
            // exec replaced the whole address space: nothing the old image held is live any more,
            // and its modules are gone. Stack ids stay valid (they name frames, not addresses).
            Execs++;
            var live = new List<LiveAllocation>();
            foreach (var allocation in _tables.Live) live.Add(allocation);
            foreach (var allocation in live)
            {
                if (allocation.Kind == AllocationKind.Heap) _tables.Live.RemoveHeap(allocation.Address);
                else _tables.Live.RemoveMappingRange(allocation.Address, allocation.Size);
            }
            foreach (var module in _tables.Modules.All.Where(m => m.Loaded)) _tables.Modules.Unload(module.Id);
            _stackIdByRawHash.Clear();
        }
        AttachedPid = ring.Pid;
    }

    private int StackOf(in RingEvent ring)
    {
        var pcs = ring.Frames;
        if (pcs.IsEmpty)
        {
            if (!ring.StackKnown) UnknownStacks++;
            return 0;
        }
        var hash = ring.StackHash;
        if (hash != 0 && _stackIdByRawHash.TryGetValue(hash, out var known)) return known;
        var depth = Math.Min(pcs.Length, MaxFrames);
        var frames = _frames.AsSpan(0, depth);
        _tables.Modules.Resolve(pcs[..depth], frames);
        var stackId = _tables.Stacks.Intern(frames);
        if (hash != 0) _stackIdByRawHash[hash] = stackId;
        return stackId;
    }

    /// <summary>
    /// The categories of the last few unmapped mappings by address: an mremap publishes the unmap
    /// of the old mapping before the map of the new one, which keeps the old one's kind.
    /// </summary>
    private sealed class RecentlyUnmapped
    {
        private readonly ulong[] _addresses = new ulong[64];
        private readonly int[] _categories = new int[64];
        private int _next;

        public void Remember(ulong address, int category)
        {
            _addresses[_next] = address;
            _categories[_next] = category;
            _next = (_next + 1) % _addresses.Length;
        }

        public int? CategoryOf(ulong address)
        {
            for (var i = 0; i < _addresses.Length; i++)
                if (_addresses[i] == address && address != 0) return _categories[i];
            return null;
        }
    }
}
