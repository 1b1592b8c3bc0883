using System.Text;

namespace Foom.Ring;

/// <summary>
/// A view of one committed record, straight in the shared ring (or in the consumer's copy when
/// the record wraps past the end of the data area). Valid until the next
/// <see cref="RingConsumer.TryRead"/>; nothing is copied or allocated to read it.
/// </summary>
public readonly unsafe ref struct RingEvent
{
    private readonly byte* record;

    internal RingEvent(byte* record, ulong position, ReadOnlySpan<ulong> frames, bool stackKnown)
    {
        this.record = record;
        Position = position;
        Frames = frames;
        StackKnown = stackKnown;
    }

    /// <summary>The record's reservation position: the global order of events.</summary>
    public ulong Position { get; }

    public RecordKind Kind => (RecordKind)record[4];
    public EventSource Source => (EventSource)record[5];
    public RecordFlags Flags => (RecordFlags)record[7];
    public int Length => (int)*(uint*)record;

    /// <summary>Frames innermost first (return address − 1), from the record or, for a stack sent
    /// before by hash only, from the consumer's <see cref="StacksByHash"/>.</summary>
    public ReadOnlySpan<ulong> Frames { get; }

    /// <summary>False for a hash-only stack the consumer had not seen (counted in the header).</summary>
    public bool StackKnown { get; }

    /// <summary>The thread that made the event (allocations, frees, mappings, modules).</summary>
    public uint ThreadId => Kind == RecordKind.Attach ? 0 : *(uint*)(record + 8);

    /// <summary>The block or mapping (alloc, free, map, unmap; a failed mremap's mapping).</summary>
    public ulong Address => Kind is RecordKind.Alloc or RecordKind.Free or RecordKind.Map or RecordKind.Unmap or RecordKind.AllocFailed ? *(ulong*)(record + 16) : 0;

    /// <summary>Requested bytes (alloc, failed alloc), mapping length (map, unmap), extent (module).</summary>
    public ulong Size => Kind switch
    {
        RecordKind.Alloc or RecordKind.Map or RecordKind.Unmap or RecordKind.AllocFailed => *(ulong*)(record + 24),
        RecordKind.ModuleLoad or RecordKind.ModuleUnload => ((ModuleRecord*)record)->Size,
        _ => 0,
    };

    public uint Alignment => Kind is RecordKind.Alloc or RecordKind.AllocFailed ? ((AllocRecord*)record)->Alignment : 0;

    public ulong StackHash => Kind switch
    {
        RecordKind.Alloc => ((AllocRecord*)record)->StackHash,
        RecordKind.AllocFailed => ((AllocFailedRecord*)record)->Alloc.StackHash,
        RecordKind.Map => ((MapRecord*)record)->StackHash,
        _ => 0,
    };

    public int Prot => Kind == RecordKind.Map ? ((MapRecord*)record)->Prot : 0;
    public int MapFlags => Kind == RecordKind.Map ? ((MapRecord*)record)->MapFlags : 0;
    public MapKind MapKind => Kind == RecordKind.Map ? (MapKind)((MapRecord*)record)->MapKind : MapKind.None;
    public ulong FileOffset => Kind == RecordKind.Map ? ((MapRecord*)record)->FileOffset : 0;

    /// <summary>When an allocation failed (milliseconds since the Unix epoch).</summary>
    public ulong FailedMs => Kind == RecordKind.AllocFailed ? ((AllocFailedRecord*)record)->WallMs : 0;

    /// <summary>For a remap: the mapping this one came from.</summary>
    public ulong OldAddress => Kind == RecordKind.Map ? ((MapRecord*)record)->OldAddress : 0;

    /// <summary>Load bias of a module: pc − Base is the ELF virtual address.</summary>
    public ulong Base => IsModule ? ((ModuleRecord*)record)->Base : 0;

    /// <summary>Lowest mapped address of a module's PT_LOAD segments.</summary>
    public ulong Start => IsModule ? ((ModuleRecord*)record)->Start : 0;

    public ModuleFlags ModuleFlags => IsModule ? (ModuleFlags)((ModuleRecord*)record)->ModuleFlags : ModuleFlags.None;

    public ReadOnlySpan<byte> BuildId => IsModule
        ? new ReadOnlySpan<byte>(record + sizeof(ModuleRecord), ((ModuleRecord*)record)->BuildIdLength)
        : default;

    /// <summary>UTF-8 path: the mapped file (map), the module, the executable (attach).</summary>
    public ReadOnlySpan<byte> Path => Kind switch
    {
        RecordKind.Map => new ReadOnlySpan<byte>(
            record + sizeof(MapRecord) + (Flags.HasFlag(RecordFlags.FullStack) ? record[6] * 8 : 0),
            ((MapRecord*)record)->PathLength),
        RecordKind.ModuleLoad or RecordKind.ModuleUnload => new ReadOnlySpan<byte>(
            record + sizeof(ModuleRecord) + ((ModuleRecord*)record)->BuildIdLength, ((ModuleRecord*)record)->PathLength),
        RecordKind.Attach => new ReadOnlySpan<byte>(record + sizeof(AttachRecord), ((AttachRecord*)record)->PathLength),
        _ => default,
    };

    public int Pid => Kind == RecordKind.Attach ? ((AttachRecord*)record)->Pid : 0;
    public uint Generation => Kind == RecordKind.Attach ? ((AttachRecord*)record)->Generation : 0;
    public ulong WallMs => Kind == RecordKind.Attach ? ((AttachRecord*)record)->WallMs : 0;
    public ulong MonotonicNs => Kind == RecordKind.Attach ? ((AttachRecord*)record)->MonotonicNs : 0;
    public AttachFlags AttachFlags => Kind == RecordKind.Attach ? (AttachFlags)((AttachRecord*)record)->AttachFlags : AttachFlags.None;

    /// <summary>The path as a string (allocates: for diagnostics and tests, not per event).</summary>
    public string PathText() => Encoding.UTF8.GetString(Path);

    /// <summary>The build-id in lowercase hex, as readelf -n prints it (allocates).</summary>
    public string BuildIdText() => Convert.ToHexStringLower(BuildId);

    private bool IsModule => Kind is RecordKind.ModuleLoad or RecordKind.ModuleUnload;
}
