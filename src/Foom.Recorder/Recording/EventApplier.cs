using System.Runtime.CompilerServices;
using System.Text;
using Foom.Ring;
using Foom.Storage;
using Foom.Storage.Live;
using Foom.Storage.Logs;
using Foom.Storage.Sessions;
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
    private int _moduleEpoch;
    private readonly Frame[] _frames = new Frame[MaxFrames];
    private readonly Dictionary<string, int> _fileCategoryByPath = new(StringComparer.Ordinal);
    private readonly RecentlyUnmapped _recentlyUnmapped = new();
    private readonly HeapLookahead _lookahead = new();
    private readonly int _anonymousCategory;
    private readonly int _stackCategory;
    private readonly int _sharedCategory;
    /// <summary>Made at the first failed allocation: most sessions have none.</summary>
    private CircularLog<FailedAllocationRecord>? _failures;

    public EventApplier(SessionTables tables)
    {
        _tables = tables;
        _anonymousCategory = tables.Categories.Intern("VM: anonymous");
        _stackCategory = tables.Categories.Intern("VM: stack");
        _sharedCategory = tables.Categories.Intern("VM: shared");
    }

    /// <summary>
    /// An applier that takes over a session whose recorder died (<see cref="SessionTables.Resume"/>):
    /// it knows the stack keys the dead one learnt, and that <paramref name="attachedPid"/> had
    /// attached, so that an exec among the remaining events resets the tables as it would have.
    /// </summary>
    public static EventApplier Resume(SessionTables tables, int attachedPid)
    {
        var applier = new EventApplier(tables) { AttachedPid = attachedPid };
        // In the order written: a later record for a key supersedes an earlier one.
        foreach (var (key, stackId) in tables.StackKeys.ReadAll(tables.Stacks.NodeCount))
            applier.Stacks.SetStackId(key, stackId, 0);
        return applier;
    }

    /// <summary>
    /// The hook's stack hash → the stack id its frames were interned as, with the module epoch of
    /// that resolution: a module loaded or unloaded since may turn the same raw pcs into other
    /// frames, so an older entry is resolved again when the frames are at hand. Every new or
    /// changed entry is also written to the session's <see cref="StackKeyTable"/>, for a recorder
    /// that resumes this session after this one died. The ring consumer that feeds this applier
    /// is given the same table for the frames (<see cref="RingConsumer(EventRing, StacksByHash?)"/>):
    /// one lookup of the hash finds both.
    /// </summary>
    public StacksByHash Stacks { get; } = new();

    /// <summary>Events applied since the session started.</summary>
    public long Applied { get; private set; }

    /// <summary>Times the target exec'ed (the same pid attached again): each reset the live tables.</summary>
    public int Execs { get; private set; }

    /// <summary>The pid that attached, once it has.</summary>
    public int AttachedPid { get; private set; }

    /// <summary>The newest failed allocation applied, if any (the session's log keeps the last few and the count).</summary>
    public FailedAllocationRecord? LastFailure { get; private set; }

    /// <summary>Failed allocations in the session's log, including those a dead recorder of this session applied.</summary>
    public long Failures => _failures?.TotalAppended ?? 0;

    /// <summary>Stacks that arrived by hash only and were unknown to the ring consumer.</summary>
    public long UnknownStacks { get; private set; }

    /// <summary>
    /// Called with the consumer right after it handed out an event, before <see cref="Apply"/>:
    /// starts loading what the next events will touch in the live table (<see cref="HeapLookahead"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void LookAhead(RingConsumer consumer) => _lookahead.AfterRead(consumer, _tables.Live);

    /// <summary>
    /// Applies one event, then records in the tables that the ring is applied up to its end
    /// (<see cref="LiveAllocations.SourcePosition"/>): after a kill, the next launch goes on from
    /// there (<see cref="RingLeftovers"/>).
    /// </summary>
    // The per-event path is compiled fully optimised at once (AggressiveOptimization here, in
    // RingConsumer.TryRead and in LiveAllocations' heap operations): a `foom run` of a short
    // program ended before tiered compilation had promoted it, so much of the drain ran tier-0
    // code (docs/benchmarks.md: the recorder's CPU fell by a fifth).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(in RingEvent ring)
    {
        ApplyChanges(ring);
        _tables.Live.SourcePosition = ring.Position + (ulong)ring.Length;
    }

    /// <summary>
    /// <see cref="Apply"/>, unless the event's changes are all in the tables already: for the first
    /// event after <see cref="LiveAllocations.SourcePosition"/>, which a recorder killed between
    /// applying it and recording its position had applied. Applying such an event again would
    /// leave the same blocks live, but count a free never seen or a block replaced; an event not
    /// applied yet whose outcome is already there changes nothing by being skipped. Returns
    /// whether the event was applied.
    /// </summary>
    public bool ApplyUnlessPresent(in RingEvent ring)
    {
        var present = ring.Kind switch
        {
            RecordKind.Alloc => _tables.Live.TryGetHeap(ring.Address, out var block) && block.Size == ring.Size && block.StackId == StackOf(ring),
            RecordKind.Free => !_tables.Live.TryGetHeap(ring.Address, out _),
            RecordKind.Map => _tables.Live.TryGetMapping(ring.Address, out var mapping) && mapping.Address == ring.Address
                              && mapping.Size == (ring.Size + LiveRecordFormat.PageSize - 1) / LiveRecordFormat.PageSize * LiveRecordFormat.PageSize
                              && mapping.StackId == StackOf(ring),
            RecordKind.Unmap => !_tables.Live.TryGetMapping(ring.Address, out _),
            RecordKind.ModuleLoad => IsLoaded(ring.PathText(), ring.Base, ring.Start, ring.Size),
            RecordKind.ModuleUnload => _tables.Modules.ModuleIdAt(ring.Start) == 0,
            RecordKind.AllocFailed => IsNewestFailure(ring),
            _ => false,
        };
        if (present)
        {
            _tables.Live.SourcePosition = ring.Position + (ulong)ring.Length;
            return false;
        }
        Apply(ring);
        return true;
    }

    private bool IsLoaded(string path, ulong loadBias, ulong start, ulong size) =>
        _tables.Modules.All.Any(m => m.Loaded && m.Path == path && m.LoadBias == loadBias && m.Start == start && m.Size == size);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ApplyChanges(in RingEvent ring)
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
                _moduleEpoch++;
                break;
            case RecordKind.ModuleUnload:
                var id = _tables.Modules.ModuleIdAt(ring.Start);
                if (id > 0) _tables.Modules.Unload(id);
                _moduleEpoch++;
                break;
            case RecordKind.Attach:
                ApplyAttach(ring);
                break;
            case RecordKind.AllocFailed:
                ApplyFailure(ring);
                break;
        }
    }

    private bool IsNewestFailure(in RingEvent ring)
    {
        if (!File.Exists(Path.Combine(_tables.Directory, SessionTables.LogFileName(FailedAllocationLog.Name)))) return false;
        _failures ??= OpenFailures();
        var logged = _failures.ReadAll();
        return logged.Length > 0 && logged[^1] == new FailedAllocationRecord((long)ring.FailedMs, (long)ring.Size, StackOf(ring), ring.ThreadId);
    }

    private CircularLog<FailedAllocationRecord> OpenFailures() =>
        _tables.OpenOrCreateLog<FailedAllocationRecord>(FailedAllocationLog.Name, FailedAllocationLog.Capacity, FailedAllocationLog.TypeTag);

    private void ApplyFailure(in RingEvent ring)
    {
        _failures ??= OpenFailures();
        var failure = new FailedAllocationRecord((long)ring.FailedMs, (long)ring.Size, StackOf(ring), ring.ThreadId);
        _failures.Append(failure);
        LastFailure = failure;
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
            // The ring consumer sharing the table cleared it on reading this record already.
            Stacks.Clear();
        }
        AttachedPid = ring.Pid;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int StackOf(in RingEvent ring)
    {
        var pcs = ring.Frames;
        var hash = ring.StackHash;
        if (pcs.IsEmpty)
        {
            if (ring.StackKnown) return 0;
            // Sent by hash alone, and the ring consumer has not seen the frames: they went to a
            // recorder that died (this one resumes its session), which wrote down the stack id.
            if (hash != 0 && Stacks.TryGetStackId(hash, out var learnt, out _)) return learnt;
            UnknownStacks++;
            return 0;
        }
        var knownStackId = 0;
        if (hash != 0 && Stacks.TryGetStackId(hash, out knownStackId, out var knownEpoch) && knownEpoch == _moduleEpoch) return knownStackId;
        var depth = Math.Min(pcs.Length, MaxFrames);
        var frames = _frames.AsSpan(0, depth);
        _tables.Modules.Resolve(pcs[..depth], frames);
        var stackId = _tables.Stacks.Intern(frames);
        if (hash != 0)
        {
            // Written down only when new or changed: a resolution again after a module event usually finds the same stack.
            if (knownStackId != stackId) _tables.StackKeys.Append(hash, stackId);
            Stacks.SetStackId(hash, stackId, _moduleEpoch);
        }
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
