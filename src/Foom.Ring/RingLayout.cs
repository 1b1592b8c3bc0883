using System.Runtime.InteropServices;

namespace Foom.Ring;

// The C# mirror of native/foomhook/foom_ring.h. Names follow the C names (snake_case to
// PascalCase, structs: foom_ring_header → RingHeader, foom_record → RecordHeader,
// foom_record_alloc → AllocRecord, ...); RingLayoutTests compares every offset, size and constant
// with what a C program compiled against the header prints. Change both sides together.

/// <summary>Sizes and identity of the ring file.</summary>
public static class RingLayout
{
    /// <summary>"FOOMRING" as little-endian bytes.</summary>
    public const ulong Magic = 0x474e49524d4f4f46UL;
    /// <summary>2: sampled mode (sample_bytes, sample_set_overflows) and the process tree's pool (pool_created .. command_line).</summary>
    public const uint Version = 2;
    public const int HeaderSize = 4096;
    public const int MaxFrames = 64;
    public const int MaxPath = 4095;
    public const int MaxBuildId = 64;
    public const int SceneSize = 64;
    public const int MaxRecord = 8192;
    public const uint DefaultWaitMs = 2000;
    public const int PoolMax = 512;
    public const int CommandLineSize = 1024;
}

public enum StopReason : uint
{
    None = 0,
    RecorderGone = 1,
    ByRecorder = 2,
    RingInvalid = 3,
}

public enum AppState : uint
{
    Unknown = 0,
    Foreground = 1,
    Background = 2,
    Suspended = 3,
}

public enum ExitKind : uint
{
    None = 0,
    /// <summary>exit(status).</summary>
    Call = 1,
    /// <summary>_exit(status) or _Exit(status).</summary>
    Immediate = 2,
    /// <summary>main returned status.</summary>
    MainReturn = 3,
    /// <summary>The hook was unloaded at exit without seeing a status.</summary>
    Unseen = 4,
}

[Flags]
public enum RingOptions : uint
{
    None = 0,
    NoStackCache = 1,
    FpOnly = 2,
    UnwindOnly = 4,
    /// <summary>Unwind with libunwind, never the hook's own table walk: the reference it is compared with.</summary>
    LibunwindOnly = 8,
    /// <summary>Unwind every table-walked stack with libunwind too and flag the events where they differ.</summary>
    CheckUnwind = 16,
}

public enum RecordKind : byte
{
    Alloc = 1,
    Free = 2,
    Map = 3,
    Unmap = 4,
    ModuleLoad = 5,
    ModuleUnload = 6,
    Attach = 7,
    AllocFailed = 8,
}

public enum EventSource : byte
{
    Malloc = 1,
    Calloc = 2,
    Realloc = 3,
    Reallocarray = 4,
    PosixMemalign = 5,
    AlignedAlloc = 6,
    Memalign = 7,
    Valloc = 8,
    Pvalloc = 9,
    Free = 10,
    Mmap = 11,
    Munmap = 12,
    Mremap = 13,
    Dlopen = 14,
    Dlclose = 15,
    Startup = 16,
    Discovered = 17,
}

[Flags]
public enum RecordFlags : byte
{
    None = 0,
    /// <summary>The frames travel in the record; otherwise the hash names a stack sent before.</summary>
    FullStack = 1,
    FramePointers = 2,
    UnwindTables = 4,
    Truncated = 8,
    /// <summary>realloc/mremap failed: the old block or mapping is published again.</summary>
    Restored = 16,
    /// <summary>Unwound by libunwind: the hook's table walk met a rule it does not follow (a signal frame,
    /// a DWARF expression) or code without unwind tables.</summary>
    Libunwind = 32,
    /// <summary>With <see cref="RingOptions.CheckUnwind"/>: libunwind found other frames than the table walk.</summary>
    UnwindDiffers = 64,
}

public enum MapKind : byte
{
    None = 0,
    Anonymous = 1,
    Stack = 2,
    Shared = 3,
    File = 4,
    /// <summary>mremap's result: it has the kind of the mapping at OldAddress.</summary>
    Remap = 5,
}

[Flags]
public enum ModuleFlags : byte
{
    None = 0,
    MainProgram = 1,
    Vdso = 2,
    FramePointers = 4,
}

[Flags]
public enum AttachFlags : uint
{
    None = 0,
    /// <summary>The same pid attached again after exec: reset allocations, mappings, modules, stacks.</summary>
    Exec = 1,
}

/// <summary>The first 4096 bytes of the ring file.</summary>
[StructLayout(LayoutKind.Explicit, Size = RingLayout.HeaderSize)]
public unsafe struct RingHeader
{
    [FieldOffset(0)] public ulong Magic;
    [FieldOffset(8)] public uint Version;
    [FieldOffset(12)] public uint HeaderSize;
    [FieldOffset(16)] public ulong DataSize;
    [FieldOffset(24)] public ulong CreatedMs;
    [FieldOffset(32)] public int RecorderPid;
    [FieldOffset(36)] public uint FullWaitMs;
    [FieldOffset(40)] public uint Options;
    /// <summary>0: every allocation is recorded; N: heap blocks are sampled by bytes, one per N on average (docs/hook.md, "Sampled mode").</summary>
    [FieldOffset(48)] public ulong SampleBytes;

    [FieldOffset(64)] public ulong Head;
    [FieldOffset(128)] public ulong Tail;

    [FieldOffset(192)] public int TargetPid;
    [FieldOffset(196)] public uint Generation;
    [FieldOffset(200)] public ulong AttachPosition;
    [FieldOffset(208)] public ulong AttachMs;
    [FieldOffset(216)] public uint Stopped;
    [FieldOffset(220)] public uint ForeignAttaches;
    [FieldOffset(224)] public ulong StoppedMs;
    /// <summary>Ring bytes the target mapped resident when it attached: in its VmRSS, but charged to the recorder (0: its pages fault in as reached).</summary>
    [FieldOffset(232)] public ulong TargetMappedBytes;

    [FieldOffset(256)] public ulong DroppedEvents;
    [FieldOffset(264)] public ulong DroppedBytes;
    [FieldOffset(272)] public ulong FullWaits;
    [FieldOffset(280)] public ulong FullWaitNs;
    [FieldOffset(288)] public ulong UnknownStacks;
    [FieldOffset(296)] public ulong DroppedAllocs;
    [FieldOffset(304)] public ulong DroppedFrees;
    // Once recording has stopped, what the program did that the hook counted instead of publishing.
    [FieldOffset(312)] public ulong UnrecordedAllocs;
    [FieldOffset(320)] public ulong UnrecordedAllocBytes;
    [FieldOffset(328)] public ulong UnrecordedFrees;
    [FieldOffset(336)] public ulong UnrecordedMaps;
    [FieldOffset(344)] public ulong UnrecordedMapBytes;
    [FieldOffset(352)] public ulong UnrecordedUnmaps;
    [FieldOffset(360)] public ulong UnrecordedUnmapBytes;
    /// <summary>Sampled mode: sampled blocks the hook's address set had no room for; from the first, every free is published.</summary>
    [FieldOffset(368)] public ulong SampleSetOverflows;

    [FieldOffset(384)] public uint State;
    [FieldOffset(388)] public uint SceneSequence;
    [FieldOffset(392)] public ulong StateMs;
    [FieldOffset(400)] public ulong HeartbeatMs;
    [FieldOffset(408)] public ulong SceneMs;
    [FieldOffset(416)] public fixed byte Scene[RingLayout.SceneSize];

    [FieldOffset(480)] public uint ExitKind;
    [FieldOffset(484)] public int ExitStatus;
    [FieldOffset(488)] public ulong ExitMs;
    [FieldOffset(496)] public int CrashSignal;
    [FieldOffset(500)] public int CrashCode;
    [FieldOffset(504)] public ulong CrashMs;
    [FieldOffset(512)] public ulong CrashAddress;
    [FieldOffset(520)] public int QuitSignal;
    [FieldOffset(524)] public int QuitSenderPid;
    [FieldOffset(528)] public ulong QuitMs;

    [FieldOffset(576)] public uint WarningSequence;
    [FieldOffset(584)] public ulong WarningFootprint;
    [FieldOffset(592)] public ulong WarningLimit;
    [FieldOffset(600)] public ulong WarningMs;

    // The run's process tree (foom_ring.h): spare rings for the run's other processes.
    [FieldOffset(640)] public uint PoolCreated;
    [FieldOffset(644)] public uint PoolClaimed;
    [FieldOffset(648)] public uint PoolExhausted;
    [FieldOffset(652)] public int ParentPid;
    [FieldOffset(656)] public uint CommandLineLength;
    [FieldOffset(704)] public fixed int PoolPids[RingLayout.PoolMax];
    [FieldOffset(3072)] public fixed byte CommandLine[RingLayout.CommandLineSize];
}

/// <summary>The first 8 bytes of every record, written last by the producer.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct RecordHeader
{
    [FieldOffset(0)] public uint Length;
    [FieldOffset(4)] public byte Kind;
    [FieldOffset(5)] public byte Source;
    [FieldOffset(6)] public byte FrameCount;
    [FieldOffset(7)] public byte Flags;
}

/// <summary>An allocation; the frames follow when the FullStack flag is set.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct AllocRecord
{
    [FieldOffset(0)] public RecordHeader Header;
    [FieldOffset(8)] public uint ThreadId;
    [FieldOffset(12)] public uint Alignment;
    [FieldOffset(16)] public ulong Address;
    [FieldOffset(24)] public ulong Size;
    [FieldOffset(32)] public ulong StackHash;
}

/// <summary>An allocation or mapping that failed for want of memory (ENOMEM): an allocation
/// record (Address 0, or the mapping mremap could not grow; Size asked for) with the time after
/// it; the frames follow when the FullStack flag is set.</summary>
[StructLayout(LayoutKind.Explicit, Size = 48)]
public struct AllocFailedRecord
{
    [FieldOffset(0)] public AllocRecord Alloc;
    [FieldOffset(40)] public ulong WallMs;
}

[StructLayout(LayoutKind.Explicit, Size = 24)]
public struct FreeRecord
{
    [FieldOffset(0)] public RecordHeader Header;
    [FieldOffset(8)] public uint ThreadId;
    [FieldOffset(12)] public uint Reserved;
    [FieldOffset(16)] public ulong Address;
}

/// <summary>A mapping; then the frames (FullStack), then the path.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct MapRecord
{
    [FieldOffset(0)] public RecordHeader Header;
    [FieldOffset(8)] public uint ThreadId;
    [FieldOffset(12)] public int Prot;
    [FieldOffset(16)] public ulong Address;
    [FieldOffset(24)] public ulong Length;
    [FieldOffset(32)] public int MapFlags;
    [FieldOffset(36)] public byte MapKind;
    [FieldOffset(37)] public byte Reserved;
    [FieldOffset(38)] public ushort PathLength;
    [FieldOffset(40)] public ulong FileOffset;
    [FieldOffset(48)] public ulong OldAddress;
    [FieldOffset(56)] public ulong StackHash;
}

[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct UnmapRecord
{
    [FieldOffset(0)] public RecordHeader Header;
    [FieldOffset(8)] public uint ThreadId;
    [FieldOffset(12)] public uint Reserved;
    [FieldOffset(16)] public ulong Address;
    [FieldOffset(24)] public ulong Length;
}

/// <summary>A module load or unload; then the build-id bytes, then the path.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct ModuleRecord
{
    [FieldOffset(0)] public RecordHeader Header;
    [FieldOffset(8)] public uint ThreadId;
    [FieldOffset(12)] public ushort PathLength;
    [FieldOffset(14)] public byte BuildIdLength;
    [FieldOffset(15)] public byte ModuleFlags;
    [FieldOffset(16)] public ulong Base;
    [FieldOffset(24)] public ulong Start;
    [FieldOffset(32)] public ulong Size;
}

/// <summary>A process attached to the ring; then the executable's path.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public struct AttachRecord
{
    [FieldOffset(0)] public RecordHeader Header;
    [FieldOffset(8)] public int Pid;
    [FieldOffset(12)] public uint Generation;
    [FieldOffset(16)] public ulong WallMs;
    [FieldOffset(24)] public ulong MonotonicNs;
    [FieldOffset(32)] public uint AttachFlags;
    [FieldOffset(36)] public ushort PathLength;
    [FieldOffset(38)] public ushort HookVersion;
}
