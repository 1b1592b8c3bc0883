using System.Runtime.CompilerServices;
using Foom.Storage.Mapping;

namespace Foom.Storage.Stacks;

/// <summary>
/// The stacks of a session, suffix-compressed as in WeChat's monitor (docs/design.md): a stack is a chain of 8-byte nodes
/// (frame id, parent node), interned outermost frame first, so stacks that share their outer
/// frames share those nodes and a new stack usually adds only the few nodes below where it
/// branches off. A stack's id is the index of its innermost node; 0 is the empty stack.
///
/// Files: stacks.foom holds the nodes (bits 0..31 frame id, bits 32..63 parent index) and
/// frames.foom the distinct frames (<see cref="Frame.Packed"/>), so that a node stays 8 bytes
/// although an x86-64 address does not fit WeChat's monitor's 36-bit field. Both are append-only: a
/// node's parent and frame always have smaller indices, ids never change when the files grow,
/// and each file's published count is stored (release) after the records it covers: a reader
/// (or a report after a SIGKILL) never sees a node whose frame or parent is not whole.
///
/// Where WeChat's monitor probes an open-addressed table whose slots are the nodes, here the nodes are
/// appended and the writer finds them through indexes kept in its own memory (not in the files,
/// which readers do not need them): frame → frame id, (frame id, parent) → node, and
/// whole-stack hash → stack id for stacks seen before. That keeps ids stable when the table
/// grows (a rehash would move WeChat's monitor's slots) and the files at 8 bytes per node.
/// </summary>
public sealed unsafe class StackTable : IDisposable
{
    public const string NodesFileName = "stacks.foom";
    public const string FramesFileName = "frames.foom";

    private readonly MappedFile _nodeFile;
    private readonly MappedFile _frameFile;
    private ulong* _nodes;
    private ulong* _frames;
    private int _nodeCount;
    private int _frameCount;
    private readonly bool _writable;

    // Writer-only indexes (in process memory). Slots hold id | tag << 32, 0 = empty.
    private ulong[] _frameIndex = [];
    private ulong[] _nodeIndex = [];
    private UInt128[] _stackHashes = [];
    private int[] _stackIds = [];
    private int _stackCount;

    private StackTable(MappedFile nodeFile, MappedFile frameFile, bool writable)
    {
        _nodeFile = nodeFile;
        _frameFile = frameFile;
        _writable = writable;
        Refresh();
    }

    /// <summary>Creates stacks.foom and frames.foom in <paramref name="directory"/> (they must not exist).</summary>
    public static StackTable Create(string directory, int initialNodes = 1 << 16)
    {
        MappedFile? nodes = null;
        try
        {
            nodes = MappedFile.Create(Path.Combine(directory, NodesFileName), TableKind.StackNodes, Math.Max(initialNodes, 16));
            var frames = MappedFile.Create(Path.Combine(directory, FramesFileName), TableKind.Frames, Math.Max(initialNodes / 4, 16));
            var table = new StackTable(nodes, frames, writable: true);
            // Index 0 is the root (no frame, no parent) in both files.
            table._nodeCount = table._frameCount = 1;
            Volatile.Write(ref frames.Header.Count, 1);
            Volatile.Write(ref nodes.Header.Count, 1);
            table._frameIndex = new ulong[1024];
            table._nodeIndex = new ulong[Math.Max(1024, (int)BitOperationsRoundUp(initialNodes * 2))];
            table._stackHashes = new UInt128[1024];
            table._stackIds = new int[1024];
            return table;
        }
        catch
        {
            nodes?.Dispose();
            throw;
        }
    }

    /// <summary>Opens the stack table of a session for reading; damaged files throw <see cref="SessionFormatException"/>.</summary>
    public static StackTable OpenReadOnly(string directory)
    {
        var nodes = MappedFile.OpenReadOnly(Path.Combine(directory, NodesFileName), TableKind.StackNodes);
        try
        {
            var frames = MappedFile.OpenReadOnly(Path.Combine(directory, FramesFileName), TableKind.Frames);
            var table = new StackTable(nodes, frames, writable: false);
            // Frames first: the writer publishes them before the nodes that use them.
            table._frameCount = (int)Math.Min(Volatile.Read(ref frames.Header.Count), frames.MappedCapacity);
            table._nodeCount = (int)Math.Min(Volatile.Read(ref nodes.Header.Count), nodes.MappedCapacity);
            if (table._frameCount < 1 || table._nodeCount < 1)
                throw nodes.Fault("the stack table has no root node: the writer died while creating it, or the file is corrupt");
            return table;
        }
        catch
        {
            nodes.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reopens the stack table for writing, after its writer died or closed it: the published
    /// nodes and frames are kept (their ids stay valid) and the writer's in-memory indexes are
    /// rebuilt from them, checking each node as a reader would. Nodes or frames written but not
    /// published when the writer died are overwritten. A damaged file throws
    /// <see cref="SessionFormatException"/>.
    /// </summary>
    public static StackTable Resume(string directory)
    {
        var nodes = MappedFile.OpenWritable(Path.Combine(directory, NodesFileName), TableKind.StackNodes);
        MappedFile? frames = null;
        try
        {
            frames = MappedFile.OpenWritable(Path.Combine(directory, FramesFileName), TableKind.Frames);
            var table = new StackTable(nodes, frames, writable: true);
            table._frameCount = (int)Math.Min(frames.Header.Count, int.MaxValue);
            table._nodeCount = (int)Math.Min(nodes.Header.Count, int.MaxValue);
            if (table._frameCount < 1 || table._nodeCount < 1)
                throw nodes.Fault("the stack table has no root node: the writer died while creating it, or the file is corrupt");
            nodes.MarkWriting();
            frames.MarkWriting();
            table._frameIndex = new ulong[Math.Max(1024, BitOperationsRoundUp(table._frameCount * 2L))];
            for (var id = 1; id < table._frameCount; id++)
                Insert(ref table._frameIndex, table._frames, StackHash.Mix(table._frames[id]), id, id + 1);
            table._nodeIndex = new ulong[Math.Max(1024, BitOperationsRoundUp(table._nodeCount * 2L))];
            for (var id = 1; id < table._nodeCount; id++)
            {
                table.ReadNode(id);
                Insert(ref table._nodeIndex, table._nodes, StackHash.Mix(table._nodes[id]), id, id + 1);
            }
            // Whole-stack hashes are not in the files: a stack interned again is found node by node, under its old id.
            table._stackHashes = new UInt128[1024];
            table._stackIds = new int[1024];
            return table;
        }
        catch
        {
            frames?.Dispose();
            nodes.Dispose();
            throw;
        }
    }

    /// <summary>Nodes stored, including the root (index 0).</summary>
    public int NodeCount => _nodeCount;

    /// <summary>Distinct frames stored, including the unused index 0.</summary>
    public int FrameCount => _frameCount;

    /// <summary>Distinct stacks interned by this writer (0 for a reader).</summary>
    public int StackCount => _stackCount;

    /// <summary>Bytes of the two files in use: 8 per node and per frame, plus two header pages.</summary>
    public long FileBytesUsed => 2L * TableKind.HeaderSize + 8L * (_nodeCount + _frameCount);

    /// <summary>Bytes of the writer's in-memory indexes.</summary>
    public long IndexBytes => 8L * (_frameIndex.Length + _nodeIndex.Length) + 16L * _stackHashes.Length + 4L * _stackIds.Length;

    // ---------------------------------------------------------------- writing

    /// <summary>
    /// The id of the stack <paramref name="frames"/> (innermost first, as a backtrace gives them),
    /// adding the nodes it lacks. A stack seen before is recognised by its 128-bit whole-stack
    /// hash (<see cref="StackHash.OfStack"/>) and its innermost frame, without walking its nodes:
    /// two different stacks would have to share all 128 bits, a chance of about 10^-25 among ten
    /// million stacks. Allocates nothing unless an index grows.
    /// </summary>
    public int Intern(ReadOnlySpan<Frame> frames)
    {
        if (!_writable) throw new InvalidOperationException($"{_nodeFile.FilePath} is open for reading");
        if (frames.IsEmpty) return 0;
        var hash = StackHash.OfStack(frames);
        var found = FindByHash(frames, hash);
        if (found != 0) return found;

        EnsureRoom(frames.Length);
        var parent = 0;
        for (var i = frames.Length - 1; i >= 0; i--)
            parent = InternNode(InternFrame(frames[i].Packed), parent);
        // Publish frames before the nodes that name them, nodes before anyone is given the id.
        Volatile.Write(ref _frameFile.Header.Count, _frameCount);
        Volatile.Write(ref _nodeFile.Header.Count, _nodeCount);
        AddStackHash(hash, parent);
        return parent;
    }

    /// <summary>The id of <paramref name="frames"/> if it was interned before; adds nothing.</summary>
    public bool TryFind(ReadOnlySpan<Frame> frames, out int stackId)
    {
        if (frames.IsEmpty) { stackId = 0; return true; }
        stackId = _writable ? FindByHash(frames, StackHash.OfStack(frames)) : 0;
        return stackId != 0;
    }

    private int FindByHash(ReadOnlySpan<Frame> frames, UInt128 hash)
    {
        var mask = _stackHashes.Length - 1;
        var innermost = frames[0].Packed;
        for (var slot = (int)(ulong)hash & mask; ; slot = (slot + 1) & mask)
        {
            var id = _stackIds[slot];
            if (id == 0) return 0;
            if (_stackHashes[slot] == hash && _frames[(uint)_nodes[id]] == innermost) return id;
        }
    }

    private void AddStackHash(UInt128 hash, int id)
    {
        if ((_stackCount + 1) * 2 > _stackHashes.Length) GrowStackIndex();
        var mask = _stackHashes.Length - 1;
        var slot = (int)(ulong)hash & mask;
        while (_stackIds[slot] != 0) slot = (slot + 1) & mask;
        _stackHashes[slot] = hash;
        _stackIds[slot] = id;
        _stackCount++;
    }

    private void GrowStackIndex()
    {
        var oldHashes = _stackHashes;
        var oldIds = _stackIds;
        _stackHashes = new UInt128[oldHashes.Length * 2];
        _stackIds = new int[oldIds.Length * 2];
        var mask = _stackHashes.Length - 1;
        for (var i = 0; i < oldIds.Length; i++)
        {
            if (oldIds[i] == 0) continue;
            var slot = (int)(ulong)oldHashes[i] & mask;
            while (_stackIds[slot] != 0) slot = (slot + 1) & mask;
            _stackHashes[slot] = oldHashes[i];
            _stackIds[slot] = oldIds[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int InternFrame(ulong frame)
    {
        var hash = StackHash.Mix(frame);
        var tag = hash & 0xFFFF_FFFF_0000_0000;
        var index = _frameIndex;
        var mask = index.Length - 1;
        for (var slot = (int)hash & mask; ; slot = (slot + 1) & mask)
        {
            var entry = index[slot];
            if (entry == 0) break;
            if ((entry & 0xFFFF_FFFF_0000_0000) == tag && _frames[(uint)entry] == frame) return (int)(uint)entry;
        }
        var id = _frameCount++;
        _frames[id] = frame;
        Insert(ref _frameIndex, _frames, hash, id, _frameCount);
        return id;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int InternNode(int frameId, int parent)
    {
        var node = (uint)frameId | ((ulong)(uint)parent << 32);
        var hash = StackHash.Mix(node);
        var tag = hash & 0xFFFF_FFFF_0000_0000;
        var index = _nodeIndex;
        var mask = index.Length - 1;
        for (var slot = (int)hash & mask; ; slot = (slot + 1) & mask)
        {
            var entry = index[slot];
            if (entry == 0) break;
            if ((entry & 0xFFFF_FFFF_0000_0000) == tag && _nodes[(uint)entry] == node) return (int)(uint)entry;
        }
        var id = _nodeCount++;
        _nodes[id] = node;
        Insert(ref _nodeIndex, _nodes, hash, id, _nodeCount);
        return id;
    }

    /// <summary>Adds id to an index (linear probing), doubling it past 70 % full.</summary>
    private static void Insert(ref ulong[] index, ulong* keys, ulong hash, int id, int count)
    {
        if (count * 10L > index.Length * 7L) index = Rehash(index, keys);
        var mask = index.Length - 1;
        var slot = (int)hash & mask;
        while (index[slot] != 0) slot = (slot + 1) & mask;
        index[slot] = (uint)id | (hash & 0xFFFF_FFFF_0000_0000);
    }

    private static ulong[] Rehash(ulong[] old, ulong* keys)
    {
        var index = new ulong[old.Length * 2];
        var mask = index.Length - 1;
        foreach (var entry in old)
        {
            if (entry == 0) continue;
            var hash = StackHash.Mix(keys[(uint)entry]);
            var slot = (int)hash & mask;
            while (index[slot] != 0) slot = (slot + 1) & mask;
            index[slot] = entry;
        }
        return index;
    }

    private void EnsureRoom(int newNodes)
    {
        if (_nodeCount + (long)newNodes > int.MaxValue) throw new InvalidOperationException("the stack table is full (2^31 nodes)");
        if (_nodeCount + newNodes > _nodeFile.Header.Capacity)
        {
            _nodeFile.EnsureCapacity(_nodeCount + newNodes);
            Refresh();
        }
        if (_frameCount + newNodes > _frameFile.Header.Capacity)
        {
            _frameFile.EnsureCapacity(_frameCount + newNodes);
            Refresh();
        }
    }

    private void Refresh()
    {
        _nodes = (ulong*)_nodeFile.Records;
        _frames = (ulong*)_frameFile.Records;
    }

    private static int BitOperationsRoundUp(long value) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)Math.Max(value, 1));

    // ---------------------------------------------------------------- reading

    /// <summary>Whether <paramref name="stackId"/> names a stored stack (0, the empty stack, included).</summary>
    public bool Contains(int stackId) => (uint)stackId < (uint)_nodeCount;

    /// <summary>The frame stored as frame id <paramref name="frameId"/> (1 to FrameCount − 1).</summary>
    public Frame FrameAt(int frameId)
    {
        if (frameId <= 0 || frameId >= _frameCount)
            throw _frameFile.Fault($"frame id {frameId} is not in the frame table, which holds frames 1 to {_frameCount - 1}");
        return new Frame(_frames[frameId]);
    }

    /// <summary>The frames of stack <paramref name="stackId"/>, innermost first.</summary>
    public FrameEnumerator GetFrames(int stackId)
    {
        CheckId(stackId);
        return new FrameEnumerator(this, stackId);
    }

    /// <summary>Number of frames of stack <paramref name="stackId"/>.</summary>
    public int Depth(int stackId)
    {
        var depth = 0;
        foreach (var _ in GetFrames(stackId)) depth++;
        return depth;
    }

    /// <summary>Copies the frames of <paramref name="stackId"/> (innermost first) and returns how many were copied.</summary>
    public int CopyFrames(int stackId, Span<Frame> destination)
    {
        var count = 0;
        foreach (var frame in GetFrames(stackId))
        {
            if (count == destination.Length) break;
            destination[count++] = frame;
        }
        return count;
    }

    /// <summary>The frames of <paramref name="stackId"/> as an array, innermost first.</summary>
    public Frame[] FramesOf(int stackId)
    {
        var list = new List<Frame>();
        foreach (var frame in GetFrames(stackId)) list.Add(frame);
        return list.ToArray();
    }

    private void CheckId(int stackId)
    {
        if ((uint)stackId >= (uint)_nodeCount)
            throw _nodeFile.Fault($"stack id {stackId} is not in the stack table, which holds {_nodeCount} nodes");
    }

    /// <summary>
    /// Reads node <paramref name="id"/>, checking what a damaged file could break: the parent
    /// comes before the node (so every walk ends) and the frame exists.
    /// </summary>
    private (Frame Frame, int Parent) ReadNode(int id)
    {
        var node = Volatile.Read(ref _nodes[id]);
        var frameId = (uint)node;
        var parent = (int)(node >> 32);
        if ((uint)parent >= (uint)id)
            throw _nodeFile.Fault($"node {id} names parent {parent}, which is not an earlier node: corrupt");
        if (frameId == 0 || frameId >= (uint)_frameCount)
            throw _nodeFile.Fault($"node {id} names frame {frameId}, but {FramesFileName} holds frames 1 to {_frameCount - 1}: corrupt");
        return (new Frame(_frames[frameId]), parent);
    }

    public struct FrameEnumerator
    {
        private readonly StackTable _table;
        private int _next;

        internal FrameEnumerator(StackTable table, int stackId)
        {
            _table = table;
            _next = stackId;
            Current = default;
        }

        public Frame Current { get; private set; }

        public readonly FrameEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_next == 0) return false;
            (Current, _next) = _table.ReadNode(_next);
            return true;
        }
    }

    /// <summary>Marks both files closed cleanly and unmaps them.</summary>
    public void Dispose()
    {
        if (_nodes == null) return;
        _nodes = null;
        _frames = null;
        if (_writable)
        {
            _nodeFile.MarkClosed();
            _frameFile.MarkClosed();
        }
        _nodeFile.Dispose();
        _frameFile.Dispose();
    }
}
