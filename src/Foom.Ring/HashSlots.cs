namespace Foom.Ring;

/// <summary>
/// Linear probing over a power-of-two array of stack hashes, 0 marking a free slot (the hook never
/// sends hash 0): the slot shared by the tables keyed by the hook's stack hashes.
/// </summary>
public static class HashSlots
{
    /// <summary>The slot holding <paramref name="hash"/>, else the free slot where it would go.</summary>
    public static int Find(ulong[] hashes, ulong hash)
    {
        var mask = hashes.Length - 1;
        var slot = (int)(hash ^ (hash >> 29)) & mask;
        while (hashes[slot] != 0 && hashes[slot] != hash) slot = (slot + 1) & mask;
        return slot;
    }
}
