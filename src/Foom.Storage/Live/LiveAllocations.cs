using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Foom.Storage.Mapping;
using static Foom.Storage.Live.LiveRecordFormat;

namespace Foom.Storage.Live;

/// <summary>
/// The live allocations of a session, written by the recorder's one thread: the records in the
/// array of a memory-mapped file (live.foom), heap blocks found by address through a hash index in
/// the writer's memory, mappings kept in address order by WeChat's monitor's splay tree over the same array.
///
/// Nodes are <see cref="LiveNode"/>s of 24 bytes: record and links together. Links are int32
/// slot indices (0 = none; slot 0 is never a record and serves as the splay's scratch header);
/// a freed slot goes on a free list threaded through its Left field (last freed, first reused,
/// so a freed block's slot is warm in the cache when malloc reuses its address); the file grows
/// by doubling. Nothing is allocated on the managed heap per operation.
///
/// Heap blocks are only ever looked up by their exact address (malloc's pointer, free's
/// argument), so they sit in <see cref="HeapIndex"/>, an open-addressing hash table of address to
/// slot that is never written to the file (their nodes' links are unused, but for the free list).
/// Mappings need address order (an munmap trims or splits the mappings it overlaps, a map over
/// existing mappings replaces them), and they never overlap each other: they are a splay tree
/// keyed by their start. They are few, so the tree's cost does not matter.
///
/// Crash safety (the writer may be SIGKILLed at any instant): a record is live exactly when its
/// Word has the in-use flag, and every change to a record is either one release store of that
/// Word (insert, remove, category change) or goes through the header's one-entry
/// <see cref="Journal"/> (replacing a live heap block, mapping over or unmapping a range). The
/// heap index, the tree links, the free list and the counts are never trusted after a kill:
/// readers rebuild from the in-use marks (<see cref="LiveSnapshot"/>), and so does a writer that
/// resumes (<see cref="Resume"/>).
/// </summary>
public sealed unsafe class LiveAllocations : IDisposable
{
    public const string FileName = "live.foom";
    public const int DefaultInitialSlots = 1 << 16;

    private readonly MappedFile _file;
    private LiveNode* _n;
    private LiveHeader* _h;
    private HeapIndex _heapIndex;
    private int _mappingRoot;
    private int _freeHead;
    private int _freeCount;
    private int _highWater;

    /// <summary>
    /// For tests: called at each step of a journaled operation (1 journal committed, 2 stores
    /// applied, 3 after each mapping removed inside the range, 4 before the journal is cleared),
    /// so that a test can stop the writer there, by throwing, exactly as a SIGKILL would.
    /// </summary>
    internal Action<int>? JournalStepHook;

    private LiveAllocations(MappedFile file, int expectedHeapBlocks)
    {
        _file = file;
        _heapIndex = new HeapIndex(expectedHeapBlocks);
        Refresh();
    }

    /// <summary>Creates live.foom at <paramref name="path"/> (it must not exist).</summary>
    public static LiveAllocations Create(string path, int initialSlots = DefaultInitialSlots)
    {
        initialSlots = Math.Max(initialSlots, 16);
        var live = new LiveAllocations(MappedFile.Create(path, TableKind.Live, initialSlots), initialSlots);
        live._highWater = 1; // slot 0 is the splay header, never a record
        Volatile.Write(ref live._file.Header.Count, live._highWater);
        return live;
    }

    /// <summary>
    /// Reopens live.foom for writing, after its writer died (SIGKILL) or closed it: the operation
    /// left in the journal is completed in place, then what is never trusted after a kill (the
    /// heap index, the mapping tree, the free list, the counts) is rebuilt from the in-use marks,
    /// as a reader would read them. Each step stores absolute values, so a resume killed half-way
    /// can be resumed again.
    /// What was done goes into <paramref name="notes"/>, one sentence each. A damaged file throws
    /// <see cref="SessionFormatException"/> naming it.
    /// </summary>
    public static LiveAllocations Resume(string path, List<string> notes)
    {
        var file = MappedFile.OpenWritable(path, TableKind.Live);
        try
        {
            var live = new LiveAllocations(file, 0);
            live.Rebuild(notes);
            return live;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public string FilePath => _file.FilePath;

    public long HeapCount => _h->HeapCount;
    public long HeapBytes => _h->HeapBytes;
    public long MappingCount => _h->MappingCount;
    public long MappingBytes => _h->MappingBytes;
    public long Count => _h->HeapCount + _h->MappingCount;

    /// <summary>Heap inserts at a live address (frees never seen).</summary>
    public long ReplacedHeapCount => _h->ReplacedHeap;

    /// <summary>Frees of addresses that were not live.</summary>
    public long UnknownFreeCount => _h->UnknownFrees;

    /// <summary>Mappings or parts of them replaced by a map over them (munmaps never seen).</summary>
    public long ReplacedMappingCount => _h->ReplacedMappings;

    /// <summary>Inserts refused because the record format cannot hold them.</summary>
    public long RejectedCount => _h->Rejected;

    /// <summary>
    /// The position in the writer's event source just past the last event whose changes are all
    /// in the table (0 when never set). Stored after each event, so after a kill it names the
    /// first event that may be missing: that one may also have been applied, whole, just before
    /// the kill.
    /// </summary>
    public ulong SourcePosition
    {
        get => Volatile.Read(ref _h->SourcePosition);
        set => Volatile.Write(ref _h->SourcePosition, value);
    }

    /// <summary>Operations completed (the header's commit counter).</summary>
    public long OperationCount => _file.Header.CommitCounter;

    /// <summary>Slots in the file, used or free, including the reserved slot 0.</summary>
    public long SlotCount => _highWater;

    /// <summary>Bytes of file the records take: slots used times 24, plus the header page.</summary>
    public long FileBytesUsed => TableKind.HeaderSize + (long)_highWater * NodeSize;

    /// <summary>Bytes of the writer's memory the heap index takes (never on disk): 8 per entry, at most half of them used.</summary>
    public long HeapIndexBytes => (long)_heapIndex.Capacity * sizeof(ulong);

    // ---------------------------------------------------------------- heap blocks

    /// <summary>
    /// Records a heap block. When <paramref name="address"/> is already live, the old record is
    /// replaced (a free that was never seen) and counted; the replacement is all-or-nothing.
    /// </summary>
    // Fully optimised from the first event: the recorder's per-event path (EventApplier.Apply says why).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public InsertOutcome InsertHeap(ulong address, ulong size, int stackId, int categoryId = 0)
    {
        if (!TryPackHeap(address, size, stackId, categoryId, out var word, out var payload))
        {
            _h->Rejected++;
            Commit();
            return InsertOutcome.Rejected;
        }
        var position = _heapIndex.Find(address, _n);
        if (position >= 0)
        {
            var existing = _heapIndex.SlotAt(position);
            ref var old = ref _n[existing];
            _h->HeapBytes += (long)Size(word, payload) - (long)Size(old.Word, old.Payload);
            _h->ReplacedHeap++;
            BeginJournal(Journal.KindStoresOnly);
            AddStore(existing, JournalStore.PayloadField, payload);
            AddStore(existing, JournalStore.WordField, word);
            CommitJournal();
            JournalStepHook?.Invoke(1);
            ApplyJournalStores();
            JournalStepHook?.Invoke(2);
            JournalStepHook?.Invoke(4);
            EndJournal();
            Commit();
            return InsertOutcome.Replaced;
        }
        if (!_heapIndex.HasRoom)
        {
            _heapIndex.Grow();
            position = _heapIndex.Find(address, _n);
        }
        EnsureFreeSlots(1);
        var slot = TakeSlot();
        ref var node = ref _n[slot];
        node.Payload = payload;
        Volatile.Write(ref node.Word, word);
        _heapIndex.InsertAt(~position, address, slot);
        _h->HeapCount++;
        _h->HeapBytes += (long)Size(word, payload);
        Commit();
        return InsertOutcome.Inserted;
    }

    /// <summary>Removes the heap block at <paramref name="address"/>; false (and counted) when it was not live.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool RemoveHeap(ulong address, out LiveAllocation removed)
    {
        var position = _heapIndex.Find(address, _n);
        if (position < 0)
        {
            removed = default;
            _h->UnknownFrees++;
            Commit();
            return false;
        }
        var slot = _heapIndex.SlotAt(position);
        ref var node = ref _n[slot];
        removed = Unpack(node.Word, node.Payload);
        Volatile.Write(ref node.Word, 0UL);
        _heapIndex.RemoveAt(position);
        FreeSlot(slot);
        _h->HeapCount--;
        _h->HeapBytes -= (long)removed.Size;
        Commit();
        return true;
    }

    /// <summary>Removes the heap block at <paramref name="address"/>; false (and counted) when it was not live.</summary>
    public bool RemoveHeap(ulong address) => RemoveHeap(address, out _);

    /// <summary>
    /// A hint that <paramref name="address"/> will be inserted or removed soon: its place in the
    /// heap index starts loading into the cache. Changes nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchHeapIndex(ulong address) => _heapIndex.PrefetchHome(address);

    /// <summary>
    /// A hint that the block at <paramref name="address"/> will be removed soon, given after
    /// <see cref="PrefetchHeapIndex"/> had time to load its bucket: its record starts loading into
    /// the cache. Changes nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchHeapRecord(ulong address) => _heapIndex.PrefetchRecord(address, _n);

    /// <summary>The heap block starting at <paramref name="address"/>.</summary>
    public bool TryGetHeap(ulong address, out LiveAllocation allocation)
    {
        var position = _heapIndex.Find(address, _n);
        if (position >= 0)
        {
            ref var node = ref _n[_heapIndex.SlotAt(position)];
            allocation = Unpack(node.Word, node.Payload);
            return true;
        }
        allocation = default;
        return false;
    }

    /// <summary>
    /// Sets the category of the live heap block (or, failing that, the mapping) that starts at
    /// <paramref name="address"/>: WeChat's monitor's "+alloc tells the type after malloc returned".
    /// </summary>
    public bool UpdateCategory(ulong address, int categoryId)
    {
        if ((uint)categoryId > MaxCategoryId) return false;
        int slot;
        var position = _heapIndex.Find(address, _n);
        if (position >= 0) slot = _heapIndex.SlotAt(position);
        else
        {
            slot = _mappingRoot = Splay(_mappingRoot, address);
            if (slot == 0 || Key(_n[slot].Word) != address) return false;
        }
        Volatile.Write(ref _n[slot].Word, WithCategory(_n[slot].Word, categoryId));
        Commit();
        return true;
    }

    // ---------------------------------------------------------------- mappings

    /// <summary>
    /// Records a mapping of <paramref name="length"/> bytes (rounded up to pages) at the
    /// page-aligned <paramref name="address"/>. Mappings that were there (an mmap with
    /// MAP_FIXED, or munmaps never seen) are removed, trimmed or split first; the whole change
    /// is all-or-nothing.
    /// </summary>
    public InsertOutcome InsertMapping(ulong address, ulong length, int stackId, int categoryId = 0) =>
        InsertMapping(address, length, stackId, categoryId, out _);

    /// <inheritdoc cref="InsertMapping(ulong, ulong, int, int)"/>
    public InsertOutcome InsertMapping(ulong address, ulong length, int stackId, int categoryId, out RangeOutcome replaced)
    {
        replaced = default;
        if (!TryPageRange(address, length, out var end) || stackId < 0 || (uint)categoryId > MaxCategoryId)
        {
            _h->Rejected++;
            Commit();
            return InsertOutcome.Rejected;
        }
        PackMapping(address, (end - address) >> PageShift, stackId, categoryId, out var word, out var payload);
        replaced = ApplyRange(address, end, word, payload);
        if (replaced.Touched) _h->ReplacedMappings += replaced.Removed + replaced.Trimmed + (replaced.Split ? 1 : 0);
        _h->MappingCount++;
        _h->MappingBytes += (long)(end - address);
        Commit();
        return replaced.Touched ? InsertOutcome.Replaced : InsertOutcome.Inserted;
    }

    /// <summary>
    /// munmap: removes <paramref name="length"/> bytes (rounded up to pages) at the page-aligned
    /// <paramref name="address"/> from the mappings, removing the ones inside, trimming the ones
    /// that stick out and splitting one that holds the whole range. All-or-nothing.
    /// </summary>
    public RangeOutcome RemoveMappingRange(ulong address, ulong length)
    {
        if (!TryPageRange(address, length, out var end))
        {
            _h->Rejected++;
            Commit();
            return default;
        }
        var outcome = ApplyRange(address, end, 0, 0);
        Commit();
        return outcome;
    }

    /// <summary>The mapping that contains <paramref name="address"/>.</summary>
    public bool TryGetMapping(ulong address, out LiveAllocation allocation)
    {
        var found = Floor(ref _mappingRoot, address & AddressMask);
        if (found != 0)
        {
            allocation = Unpack(_n[found].Word, _n[found].Payload);
            if (allocation.End > address) return true;
        }
        allocation = default;
        return false;
    }

    private static bool TryPageRange(ulong address, ulong length, out ulong end)
    {
        end = 0;
        if ((address & (PageSize - 1)) != 0 || length == 0 || address >= AddressLimit) return false;
        var pages = (length + PageSize - 1) >> PageShift;
        if (pages > uint.MaxValue || length > AddressLimit) return false;
        end = address + (pages << PageShift);
        return end <= AddressLimit;
    }

    /// <summary>
    /// Clears [start, end) of mappings and, when <paramref name="newWord"/> is set, puts the new
    /// mapping there, through the journal.
    /// </summary>
    private RangeOutcome ApplyRange(ulong start, ulong end, ulong newWord, ulong newPayload)
    {
        EnsureFreeSlots(2);
        var n = _n;

        // The mapping sticking out on the left (start inside it), if any.
        var left = start == 0 ? 0 : Floor(ref _mappingRoot, start - 1);
        if (left != 0 && End(left) <= start) left = 0;
        // The last mapping starting inside the range, when it sticks out on the right.
        var right = Floor(ref _mappingRoot, end - 1);
        if (right != 0 && (Key(n[right].Word) < start || End(right) <= end)) right = 0;
        var inner = Ceiling(ref _mappingRoot, start);
        var anyInner = inner != 0 && Key(n[inner].Word) < end;

        var split = left != 0 && End(left) > end;
        var trimmed = 0;
        ulong bytesRemoved = 0;
        var splitSlot = 0;
        var newSlot = 0;
        if (left == 0 && right == 0 && !anyInner && newWord == 0) return default;

        BeginJournal(Journal.KindRange);
        ref var journal = ref _h->Journal;
        journal.RangeStart = start;
        journal.RangeEnd = end;
        if (left != 0)
        {
            ref var l = ref n[left];
            var leftStart = Key(l.Word);
            var leftEnd = End(left);
            AddStore(left, JournalStore.PayloadField, WithPages(l.Payload, (start - leftStart) >> PageShift));
            if (split)
            {
                splitSlot = TakeSlot();
                AddStore(splitSlot, JournalStore.PayloadField, WithPages(l.Payload, (leftEnd - end) >> PageShift));
                AddStore(splitSlot, JournalStore.WordField, WithAddress(l.Word, end));
                bytesRemoved += end - start;
            }
            else
            {
                trimmed++;
                bytesRemoved += leftEnd - start;
            }
        }
        if (right != 0)
        {
            ref var r = ref n[right];
            var rightStart = Key(r.Word);
            AddStore(right, JournalStore.PayloadField, WithPages(r.Payload, (End(right) - end) >> PageShift));
            AddStore(right, JournalStore.WordField, WithAddress(r.Word, end));
            trimmed++;
            bytesRemoved += end - rightStart;
        }
        if (newWord != 0)
        {
            newSlot = TakeSlot();
            AddStore(newSlot, JournalStore.PayloadField, newPayload);
            AddStore(newSlot, JournalStore.WordField, newWord);
        }
        journal.KeepSlot = newSlot;
        CommitJournal();
        JournalStepHook?.Invoke(1);
        ApplyJournalStores();
        JournalStepHook?.Invoke(2);

        // The right piece's start moved to `end`; no mapping starts in between (it was the last
        // one starting below `end`, and the next one starts at or after its old end), so the
        // tree order holds without relinking. The new slots join the tree below.
        var removed = 0;
        while (true)
        {
            var c = Ceiling(ref _mappingRoot, start);
            if (c == 0 || Key(n[c].Word) >= end) break;
            var key = Key(n[c].Word);
            var root = _mappingRoot = Splay(_mappingRoot, key);
            bytesRemoved += Size(n[root].Word, n[root].Payload);
            Volatile.Write(ref n[root].Word, 0UL);
            _mappingRoot = DetachRoot(root, key);
            FreeSlot(root);
            removed++;
            JournalStepHook?.Invoke(3);
        }
        if (splitSlot != 0) InsertExistingSlot(ref _mappingRoot, splitSlot);
        if (newSlot != 0) InsertExistingSlot(ref _mappingRoot, newSlot);
        JournalStepHook?.Invoke(4);
        EndJournal();

        _h->MappingCount += (splitSlot != 0 ? 1 : 0) - removed;
        _h->MappingBytes -= (long)bytesRemoved;
        return new RangeOutcome(removed, trimmed, split, bytesRemoved);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong End(int slot) => Key(_n[slot].Word) + Size(_n[slot].Word, _n[slot].Payload);

    // ---------------------------------------------------------------- enumeration

    /// <summary>
    /// Live allocations, heap blocks and mappings, in slot order (no address order: heap blocks
    /// have none; sort what needs one, as <see cref="LiveSnapshot"/> does). The walk reads each
    /// slot's in-use mark as it reaches it and allocates nothing; removing records while walking
    /// is allowed, and a record inserted meanwhile may or may not be seen.
    /// </summary>
    public Enumerator GetEnumerator() => new(this);

    public struct Enumerator
    {
        private readonly LiveAllocations _owner;
        private int _slot;

        internal Enumerator(LiveAllocations owner)
        {
            _owner = owner;
            _slot = 0;
            Current = default;
        }

        public LiveAllocation Current { get; private set; }

        public bool MoveNext()
        {
            while (++_slot < _owner._highWater)
            {
                ref var node = ref _owner._n[_slot];
                if (!IsLive(node.Word)) continue;
                Current = Unpack(node.Word, node.Payload);
                return true;
            }
            return false;
        }
    }

    // ---------------------------------------------------------------- the mappings' splay tree

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong KeyOf(int slot) => Key(_n[slot].Word);

    /// <summary>
    /// Top-down splay (Sleator and Tarjan) of the tree rooted at <paramref name="t"/> for
    /// <paramref name="key"/>: returns the new root, which is the node with that key if there is
    /// one, else its predecessor or successor. Slot 0's links hold the pieces being assembled.
    /// </summary>
    private int Splay(int t, ulong key)
    {
        if (t == 0) return 0;
        var n = _n;
        n[0].Left = n[0].Right = 0;
        int l = 0, r = 0;
        while (true)
        {
            var tk = Key(n[t].Word);
            if (key < tk)
            {
                var c = n[t].Left;
                if (c == 0) break;
                if (key < Key(n[c].Word))
                {
                    n[t].Left = n[c].Right; // rotate right
                    n[c].Right = t;
                    t = c;
                    if (n[t].Left == 0) break;
                }
                n[r].Left = t; // link right
                r = t;
                t = n[t].Left;
            }
            else if (key > tk)
            {
                var c = n[t].Right;
                if (c == 0) break;
                if (key > Key(n[c].Word))
                {
                    n[t].Right = n[c].Left; // rotate left
                    n[c].Left = t;
                    t = c;
                    if (n[t].Right == 0) break;
                }
                n[l].Right = t; // link left
                l = t;
                t = n[t].Right;
            }
            else break;
        }
        n[l].Right = n[t].Left; // assemble
        n[r].Left = n[t].Right;
        n[t].Left = n[0].Right;
        n[t].Right = n[0].Left;
        return t;
    }

    /// <summary>Makes <paramref name="slot"/> (key <paramref name="key"/>, not in the tree) the root above the splayed <paramref name="root"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LinkAsRoot(int slot, int root, ulong key)
    {
        var n = _n;
        if (root == 0)
        {
            n[slot].Left = n[slot].Right = 0;
        }
        else if (key < Key(n[root].Word))
        {
            n[slot].Left = n[root].Left;
            n[slot].Right = root;
            n[root].Left = 0;
        }
        else
        {
            n[slot].Right = n[root].Right;
            n[slot].Left = root;
            n[root].Right = 0;
        }
    }

    private void InsertExistingSlot(ref int treeRoot, int slot)
    {
        var key = KeyOf(slot);
        var root = Splay(treeRoot, key);
        LinkAsRoot(slot, root, key);
        treeRoot = slot;
    }

    /// <summary>Removes the root (which has key <paramref name="key"/>) and returns the new root.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int DetachRoot(int root, ulong key)
    {
        var n = _n;
        var left = n[root].Left;
        var right = n[root].Right;
        if (left == 0) return right;
        // Every key on the left is below `key`: the splay brings the largest up, with no right child.
        var newRoot = Splay(left, key);
        n[newRoot].Right = right;
        return newRoot;
    }

    /// <summary>The node with the largest key at most <paramref name="key"/>, or 0.</summary>
    private int Floor(ref int treeRoot, ulong key)
    {
        var root = treeRoot = Splay(treeRoot, key);
        if (root == 0 || KeyOf(root) <= key) return root;
        // The root is the successor; everything on its left is below `key`.
        var left = _n[root].Left;
        if (left == 0) return 0;
        left = Splay(left, key);
        _n[root].Left = left;
        return left;
    }

    /// <summary>The node with the smallest key at least <paramref name="key"/>, or 0.</summary>
    private int Ceiling(ref int treeRoot, ulong key)
    {
        var root = treeRoot = Splay(treeRoot, key);
        if (root == 0 || KeyOf(root) >= key) return root;
        var right = _n[root].Right;
        if (right == 0) return 0;
        right = Splay(right, key);
        _n[root].Right = right;
        return right;
    }

    // ---------------------------------------------------------------- slots, journal, commit

    private void EnsureFreeSlots(int wanted)
    {
        if (_freeCount + (_file.Header.Capacity - _highWater) >= wanted) return;
        _file.EnsureCapacity(_highWater + wanted);
        Refresh();
    }

    private void Refresh()
    {
        _n = (LiveNode*)_file.Records;
        _h = (LiveHeader*)_file.TableHeader;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int TakeSlot()
    {
        if (_freeHead != 0)
        {
            var slot = _freeHead;
            _freeHead = _n[slot].Left;
            _freeCount--;
            return slot;
        }
        var fresh = _highWater++;
        // Published before the slot can be committed, so a reader's scan covers it.
        Volatile.Write(ref _file.Header.Count, _highWater);
        return fresh;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void FreeSlot(int slot)
    {
        _n[slot].Left = _freeHead;
        _n[slot].Right = 0;
        _freeHead = slot;
        _freeCount++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Commit()
    {
        ref var counter = ref _file.Header.CommitCounter;
        Volatile.Write(ref counter, counter + 1);
    }

    private void BeginJournal(int kind)
    {
        ref var journal = ref _h->Journal;
        journal.Kind = kind;
        journal.StoreCount = 0;
        journal.RangeStart = journal.RangeEnd = 0;
        journal.KeepSlot = 0;
    }

    private void AddStore(int slot, int field, ulong value)
    {
        ref var journal = ref _h->Journal;
        ref var store = ref journal.Stores[journal.StoreCount++];
        store.Slot = slot;
        store.Field = field;
        store.Value = value;
    }

    private void CommitJournal() => Volatile.Write(ref _h->Journal.Sequence, _file.Header.CommitCounter + 1);

    private void EndJournal() => Volatile.Write(ref _h->Journal.Sequence, 0L);

    /// <summary>
    /// Applies the journal's stores in the order that keeps every record whole for a concurrent
    /// reader: a live record whose Word changes is first taken out of use, then Payloads are
    /// stored, then Words (each a release store).
    /// </summary>
    private void ApplyJournalStores()
    {
        ref var journal = ref _h->Journal;
        var n = _n;
        var count = journal.StoreCount;
        for (var i = 0; i < count; i++)
        {
            ref var s = ref journal.Stores[i];
            if (s.Field == JournalStore.WordField && IsLive(n[s.Slot].Word) && n[s.Slot].Word != s.Value)
                Volatile.Write(ref n[s.Slot].Word, 0UL);
        }
        for (var i = 0; i < count; i++)
        {
            ref var s = ref journal.Stores[i];
            if (s.Field == JournalStore.PayloadField) Volatile.Write(ref n[s.Slot].Payload, s.Value);
        }
        for (var i = 0; i < count; i++)
        {
            ref var s = ref journal.Stores[i];
            if (s.Field == JournalStore.WordField) Volatile.Write(ref n[s.Slot].Word, s.Value);
        }
    }

    // ---------------------------------------------------------------- resuming after the writer died

    private void Rebuild(List<string> notes)
    {
        var closed = _file.ClosedCleanly;
        var operations = _file.Header.CommitCounter;
        var slots = Volatile.Read(ref _file.Header.Count);
        if (slots < 1 || slots > int.MaxValue)
            throw _file.Fault($"the header says {slots} slots are in use: corrupt header (slot 0 always is)");
        _file.MarkWriting();
        _highWater = (int)slots;
        var n = _n;

        ref var journal = ref _h->Journal;
        if (journal.Sequence != 0)
        {
            if (closed) throw _file.Fault("the writer closed the file cleanly but its journal still holds an operation: corrupt header");
            LiveSnapshot.CheckJournal(_file, journal, slots);
            ApplyJournalStores();
            var removed = 0;
            if (journal.Kind == Journal.KindRange)
            {
                for (var i = 1; i < _highWater; i++)
                {
                    var word = n[i].Word;
                    if (!IsLive(word) || (word & MappingFlag) == 0 || i == journal.KeepSlot) continue;
                    var start = Key(word);
                    if (start < journal.RangeStart || start + Size(word, n[i].Payload) > journal.RangeEnd) continue;
                    Volatile.Write(ref n[i].Word, 0UL);
                    removed++;
                }
            }
            EndJournal();
            notes.Add(journal.Kind == Journal.KindRange
                ? $"An operation on mappings in 0x{journal.RangeStart:x}-0x{journal.RangeEnd:x} was in flight: completed from the journal" +
                  (removed > 0 ? $" ({removed} mapping(s) inside it removed)." : ".")
                : "A replacement of a live heap block was in flight: completed from the journal.");
        }

        // Every slot is either live (a heap block into the index, a mapping into the tree) or free
        // (onto the free list, lowest first). The header's count only sizes the index.
        _heapIndex = new HeapIndex((int)Math.Clamp(_h->HeapCount, 0, _highWater));
        var mappingKeys = new List<ulong>();
        var mappingSlots = new List<int>();
        long heapCount = 0, heapBytes = 0, mappingBytes = 0;
        _freeHead = 0;
        _freeCount = 0;
        for (var i = _highWater - 1; i >= 1; i--)
        {
            var word = n[i].Word;
            var payload = n[i].Payload;
            if (!IsLive(word))
            {
                FreeSlot(i);
                continue;
            }
            LiveSnapshot.CheckRecord(_file, i, word, payload);
            if ((word & MappingFlag) != 0)
            {
                mappingKeys.Add(Key(word));
                mappingSlots.Add(i);
                mappingBytes += (long)Size(word, payload);
                continue;
            }
            var address = Key(word);
            if (!_heapIndex.HasRoom) _heapIndex.Grow();
            var position = _heapIndex.Find(address, n);
            if (position >= 0)
                throw _file.Fault($"two live heap records have the address 0x{address:x} (slots {i} and {_heapIndex.SlotAt(position)}): corrupt");
            _heapIndex.InsertAt(~position, address, i);
            heapCount++;
            heapBytes += (long)Size(word, payload);
        }
        var mappingKeySpan = CollectionsMarshal.AsSpan(mappingKeys);
        var mappingSlotSpan = CollectionsMarshal.AsSpan(mappingSlots);
        mappingKeySpan.Sort(mappingSlotSpan);
        for (var i = 1; i < mappingKeySpan.Length; i++)
        {
            var previous = mappingSlotSpan[i - 1];
            if (End(previous) > mappingKeySpan[i])
                throw _file.Fault($"the live mappings at 0x{mappingKeySpan[i - 1]:x} and 0x{mappingKeySpan[i]:x} overlap: corrupt");
        }

        n[0].Left = n[0].Right = 0;
        _mappingRoot = BuildTree(mappingSlotSpan);
        _h->HeapCount = heapCount;
        _h->HeapBytes = heapBytes;
        _h->MappingCount = mappingSlots.Count;
        _h->MappingBytes = mappingBytes;
        if (!closed)
            notes.Add($"The writer did not close the file (killed or crashed after {operations:N0} operations): its heap index, mapping tree, free list " +
                      $"and counts were rebuilt from the in-use marks of {_highWater - 1:N0} slots ({heapCount + mappingSlots.Count:N0} live records).");
    }

    /// <summary>A balanced tree over <paramref name="sortedSlots"/> (in key order); returns its root.</summary>
    private int BuildTree(ReadOnlySpan<int> sortedSlots)
    {
        if (sortedSlots.IsEmpty) return 0;
        var middle = sortedSlots.Length / 2;
        var root = sortedSlots[middle];
        var left = BuildTree(sortedSlots[..middle]);
        var right = BuildTree(sortedSlots[(middle + 1)..]);
        _n[root].Left = left;
        _n[root].Right = right;
        return root;
    }

    /// <summary>For tests: unmaps the file without marking it closed, leaving it as a killed writer would.</summary>
    internal void Abandon()
    {
        _file.Dispose();
        _n = null;
        _h = null;
    }

    /// <summary>Marks the file closed cleanly and unmaps it.</summary>
    public void Dispose()
    {
        if (_n == null) return;
        _file.MarkClosed();
        _file.Dispose();
        _n = null;
        _h = null;
    }
}
