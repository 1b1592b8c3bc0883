using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Foom.Storage.Live;

/// <summary>
/// live.foom's own header fields (after the common <see cref="Mapping.FileHeader"/>). The counts
/// are kept per operation for the writer; a reader recounts from the records and says when the
/// two disagree.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 512)]
internal struct LiveHeader
{
    [FieldOffset(0)] public long HeapCount;
    [FieldOffset(8)] public long HeapBytes;
    [FieldOffset(16)] public long MappingCount;
    [FieldOffset(24)] public long MappingBytes;
    /// <summary>Heap inserts at an address that was still live: frees Foom never saw.</summary>
    [FieldOffset(32)] public long ReplacedHeap;
    /// <summary>Frees of addresses that were not live.</summary>
    [FieldOffset(40)] public long UnknownFrees;
    /// <summary>Mappings (or parts) replaced by a mapping over them: munmaps Foom never saw.</summary>
    [FieldOffset(48)] public long ReplacedMappings;
    /// <summary>Inserts that could not be stored (see LiveRecordFormat's limits).</summary>
    [FieldOffset(56)] public long Rejected;
    [FieldOffset(64)] public Journal Journal;
    /// <summary>
    /// Where the writer's event source stands: the position just past the last event whose
    /// changes are all in the table (the recorder stores its ring position after applying each
    /// event). 0 when the writer never said.
    /// </summary>
    [FieldOffset(200)] public ulong SourcePosition;
}

/// <summary>
/// The one-entry intent journal that makes an operation touching several records all-or-nothing
/// after a SIGKILL. The writer fills it, stores <see cref="Sequence"/> (release: the commit), then
/// applies it, then clears Sequence. A reader that finds Sequence set (and no writer) applies it
/// again: the stores are absolute values and the range rule is a filter, so a second application
/// changes nothing that the first completed.
///
/// Stores set a record's Word or Payload. The range rule removes every mapping lying wholly in
/// [RangeStart, RangeEnd) except the slot KeepSlot (the mapping being put there).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 40 + MaxStores * 16)]
internal struct Journal
{
    public const int MaxStores = 6;
    public const int KindStoresOnly = 1;
    public const int KindRange = 2;

    /// <summary>Nonzero while an operation is in flight.</summary>
    [FieldOffset(0)] public long Sequence;
    [FieldOffset(8)] public int Kind;
    [FieldOffset(12)] public int StoreCount;
    [FieldOffset(16)] public ulong RangeStart;
    [FieldOffset(24)] public ulong RangeEnd;
    [FieldOffset(32)] public int KeepSlot;
    [FieldOffset(40)] public StoreArray Stores;

    [InlineArray(MaxStores)]
    public struct StoreArray
    {
        private JournalStore _first;
    }
}

[StructLayout(LayoutKind.Sequential, Size = 16)]
internal struct JournalStore
{
    public const int WordField = 0;
    public const int PayloadField = 1;

    public int Slot;
    /// <summary><see cref="WordField"/> or <see cref="PayloadField"/>.</summary>
    public int Field;
    public ulong Value;
}
