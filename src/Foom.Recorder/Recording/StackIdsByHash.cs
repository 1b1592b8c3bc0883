using System.Runtime.CompilerServices;
using Foom.Ring;

namespace Foom.Recorder.Recording;

/// <summary>
/// The hook's stack hash → the session's stack id, and the module epoch it was resolved in: one
/// lookup per allocation. Open addressing over plain arrays rather than a
/// <c>Dictionary&lt;ulong, (int, int)&gt;</c>: that instantiation is not in the framework's
/// precompiled code, so a short <c>foom run</c> spent its first part in tier-0 JIT code for it
/// (a profile of the drain showed it among the top five).
/// </summary>
public sealed class StackIdsByHash
{
    private ulong[] _hashes = new ulong[1 << 14];
    private int[] _stackIds = new int[1 << 14];
    private int[] _epochs = new int[1 << 14];
    private int _count;

    /// <summary>The stack id and epoch noted for <paramref name="hash"/> (never 0: the hook does not use it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGet(ulong hash, out int stackId, out int epoch)
    {
        var slot = HashSlots.Find(_hashes, hash);
        if (_hashes[slot] == hash)
        {
            stackId = _stackIds[slot];
            epoch = _epochs[slot];
            return true;
        }
        stackId = 0;
        epoch = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Set(ulong hash, int stackId, int epoch)
    {
        if (hash == 0) throw new ArgumentOutOfRangeException(nameof(hash), "stack hash 0 is not used by the hook");
        if ((_count + 1) * 2 > _hashes.Length) Grow();
        var slot = HashSlots.Find(_hashes, hash);
        if (_hashes[slot] != hash)
        {
            _hashes[slot] = hash;
            _count++;
        }
        _stackIds[slot] = stackId;
        _epochs[slot] = epoch;
    }

    public void Clear()
    {
        Array.Clear(_hashes);
        _count = 0;
    }

    private void Grow()
    {
        var hashes = new ulong[_hashes.Length * 2];
        var stackIds = new int[hashes.Length];
        var epochs = new int[hashes.Length];
        for (var i = 0; i < _hashes.Length; i++)
        {
            if (_hashes[i] == 0) continue;
            var slot = HashSlots.Find(hashes, _hashes[i]);
            hashes[slot] = _hashes[i];
            stackIds[slot] = _stackIds[i];
            epochs[slot] = _epochs[i];
        }
        _hashes = hashes;
        _stackIds = stackIds;
        _epochs = epochs;
    }
}
