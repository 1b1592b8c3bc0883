using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Foom.Storage.Live;

/// <summary>
/// The 24-byte node of live.foom: one record and its links, packed so that a live allocation
/// costs 24 bytes of file in all (the writer's heap index adds 16 to 32 bytes of its memory per
/// heap block, never on disk: <see cref="HeapIndex"/>).
///
/// <code>
/// offset 0  Word     bits 0..2   flags: 1 in use, 2 mapping, 4 size counted in 4 KiB pages
///                    bits 3..47  the address (bits 3..47; heap blocks are 8-aligned, so bits 0..2 are free)
///                    bits 48..63 category id (0..65535)
/// offset 8  Payload  bits 0..31  size in bytes, or in 4 KiB pages when flag 4 is set
///                    bits 32..63 stack id
/// offset 16 Left     a mapping: int32 index of its left child in the mappings' splay tree
///                    (0 = none); a free slot: the next free slot; a heap block: unused
/// offset 20 Right    a mapping: int32 index of its right child (0 = none); otherwise unused
/// </code>
///
/// Limits that follow: addresses below 2^48 (x86-64 user space is 47 bits, arm64's 48; a
/// 5-level-paging address above that is rejected and counted); heap blocks 8-aligned (glibc
/// gives 16); heap sizes exact below 4 GiB, in pages (rounded up) from 4 GiB to 16 TiB; mappings
/// page-aligned, in pages, up to 16 TiB; 65,536 categories; 2^31 stack ids and slots.
///
/// Word is the commit point: a slot is live exactly when its Word has the in-use flag, and Word
/// is stored (release) after Payload, so a reader that sees the flag sees the whole record.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 24)]
internal struct LiveNode
{
    public ulong Word;
    public ulong Payload;
    public int Left;
    public int Right;
}

public static class LiveRecordFormat
{
    public const int NodeSize = 24;
    public const ulong InUseFlag = 1;
    public const ulong MappingFlag = 2;
    public const ulong PagesFlag = 4;
    public const ulong AddressMask = 0x0000_FFFF_FFFF_FFF8;
    public const ulong AddressLimit = 1UL << 48;
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;
    public const int MaxCategoryId = ushort.MaxValue;
    /// <summary>Largest size a record can hold: 2^32 pages (16 TiB).</summary>
    public const ulong MaxSize = (ulong)uint.MaxValue << PageShift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Key(ulong word) => word & AddressMask;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsLive(ulong word) => (word & InUseFlag) != 0;

    /// <summary>Packs a heap block; false when it cannot be stored (see the limits above).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryPackHeap(ulong address, ulong size, int stackId, int categoryId, out ulong word, out ulong payload)
    {
        word = payload = 0;
        if ((address & ~AddressMask) != 0 || (uint)categoryId > MaxCategoryId || stackId < 0) return false;
        ulong flags = InUseFlag;
        ulong sizeField = size;
        if (size > uint.MaxValue)
        {
            if (size > MaxSize) return false;
            sizeField = (size + PageSize - 1) >> PageShift;
            flags |= PagesFlag;
        }
        word = address | flags | ((ulong)categoryId << 48);
        payload = sizeField | ((ulong)(uint)stackId << 32);
        return true;
    }

    /// <summary>Packs a mapping whose address and size are whole pages.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PackMapping(ulong address, ulong pages, int stackId, int categoryId, out ulong word, out ulong payload)
    {
        word = address | InUseFlag | MappingFlag | PagesFlag | ((ulong)categoryId << 48);
        payload = pages | ((ulong)(uint)stackId << 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Size(ulong word, ulong payload)
    {
        ulong field = (uint)payload;
        return (word & PagesFlag) != 0 ? field << PageShift : field;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Pages(ulong payload) => (uint)payload;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong WithPages(ulong payload, ulong pages) => (payload & 0xFFFF_FFFF_0000_0000) | pages;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong WithAddress(ulong word, ulong address) => (word & ~AddressMask) | address;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong WithCategory(ulong word, int categoryId) => (word & 0x0000_FFFF_FFFF_FFFF) | ((ulong)categoryId << 48);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static LiveAllocation Unpack(ulong word, ulong payload) => new(
        Key(word),
        Size(word, payload),
        (int)(payload >> 32),
        (int)(word >> 48),
        (word & MappingFlag) != 0 ? AllocationKind.Mapping : AllocationKind.Heap);
}
