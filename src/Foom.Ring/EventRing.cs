using System.IO.MemoryMappedFiles;
using System.Numerics;
using Foom.Interop;

namespace Foom.Ring;

/// <summary>
/// The ring file shared with the hook in the target: created (and every page touched, so the
/// pages are charged to the recorder's memory cgroup rather than the target's) by the recorder
/// in the session directory, mapped shared by both. The target learns its path from
/// <c>FOOM_RING</c> (see <see cref="TargetEnvironment"/>). Reopened at a later launch, the same
/// file still holds the marks (state, scene, heartbeat, exit, crash, quit, warnings) of a run
/// whose target and recorder both died.
/// </summary>
public sealed unsafe class EventRing : IDisposable
{
    /// <summary>
    /// 8 MiB: about a quarter of a million events in flight, some 50 ms of the recorder's work
    /// behind a very busy target. The pages are charged to the recorder, but the target maps and
    /// writes them, so they count in its resident size (VmRSS, and the OOM killer's badness):
    /// 8 MiB keeps the target's extra resident memory, libraries included, within 16 MiB, which
    /// 16 MiB did not (docs/benchmarks.md).
    /// </summary>
    public const long DefaultDataSize = 8L << 20;
    public const long MinimumDataSize = 64L << 10;
    public const long MaximumDataSize = 1L << 30;

    /// <summary>The ring's name in a session directory: the recorder creates it, and a later launch or report reads the marks it kept.</summary>
    public const string SessionFileName = "ring.foom";

    private readonly MemoryMappedFile file;
    private readonly MemoryMappedViewAccessor view;
    private readonly byte* mapping;
    private bool disposed;

    private EventRing(string path, MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        Path = path;
        this.file = file;
        this.view = view;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        mapping = pointer + view.PointerOffset;
    }

    /// <summary>The ring file.</summary>
    public string Path { get; }

    /// <summary>The header, in the shared mapping: fields that others write change under you;
    /// read them with <see cref="Volatile"/> or through <see cref="ReadMarks"/> and
    /// <see cref="ReadCounters"/>.</summary>
    public ref RingHeader Header => ref *(RingHeader*)mapping;

    internal RingHeader* HeaderPointer => (RingHeader*)mapping;

    internal byte* Data => mapping + RingLayout.HeaderSize;

    /// <summary>Bytes in the data area (a power of two).</summary>
    public ulong DataSize => Header.DataSize;

    /// <summary>
    /// Creates the ring at <paramref name="path"/> (which must not exist), touches every page,
    /// and writes the header naming this process as the recorder. <paramref name="sampleBytes"/>
    /// above 0 makes the hook sample heap blocks by bytes, one per that many on average
    /// (docs/hook.md, "Sampled mode").
    /// </summary>
    public static EventRing Create(string path, long dataSize = DefaultDataSize, uint fullWaitMs = 0, RingOptions options = RingOptions.None, long sampleBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sampleBytes);
        if (dataSize < MinimumDataSize || dataSize > MaximumDataSize || !BitOperations.IsPow2(dataSize))
            throw new ArgumentOutOfRangeException(nameof(dataSize), dataSize,
                $"the ring's data size must be a power of two between {MinimumDataSize} and {MaximumDataSize} bytes");
        var total = RingLayout.HeaderSize + dataSize;
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (IOException exception) when (File.Exists(path))
        {
            throw new IOException($"{path}: a ring file is already there; each session creates its own", exception);
        }
        MemoryMappedFile? file = null;
        try
        {
            stream.SetLength(total);
            file = MemoryMappedFile.CreateFromFile(stream, null, total, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            var view = file.CreateViewAccessor(0, total, MemoryMappedFileAccess.ReadWrite);
            var ring = new EventRing(path, file, view);
            // Touch every page now: the pages are charged to whoever touches them first. The
            // kernel populates them for writing in one call (a tenth of the time a page fault
            // each takes: start-up is on the program's clock); kernels before 5.14 fault them in.
            if (Memory.madvise(ring.mapping, (nuint)total, Memory.MADV_POPULATE_WRITE) != 0)
            {
                for (long offset = 0; offset < total; offset += 1 << 20)
                    new Span<byte>(ring.mapping + offset, (int)Math.Min(1 << 20, total - offset)).Clear();
            }
            ref var header = ref ring.Header;
            header.Version = RingLayout.Version;
            header.HeaderSize = RingLayout.HeaderSize;
            header.DataSize = (ulong)dataSize;
            header.CreatedMs = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            header.RecorderPid = Environment.ProcessId;
            header.FullWaitMs = fullWaitMs;
            header.Options = (uint)options;
            header.SampleBytes = (ulong)sampleBytes;
            Volatile.Write(ref header.Magic, RingLayout.Magic);
            return ring;
        }
        catch
        {
            if (file is null) stream.Dispose();
            else file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens an existing ring file (the marks of an earlier run, or a ring another process
    /// records). A file that is not a ring, or is truncated, gets an error naming the file and
    /// what is wrong.
    /// </summary>
    public static EventRing Open(string path, bool writable = false)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no ring file there", path);
        if (info.Length < RingLayout.HeaderSize)
            throw new RingFormatException(path, $"{info.Length} bytes is shorter than the {RingLayout.HeaderSize}-byte header");
        var access = writable ? MemoryMappedFileAccess.ReadWrite : MemoryMappedFileAccess.Read;
        var stream = new FileStream(path, FileMode.Open, writable ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        MemoryMappedFile? file = null;
        try
        {
            file = MemoryMappedFile.CreateFromFile(stream, null, 0, access, HandleInheritability.None, leaveOpen: false);
            var view = file.CreateViewAccessor(0, info.Length, access);
            var ring = new EventRing(path, file, view);
            try
            {
                ring.Validate(info.Length);
            }
            catch
            {
                ring.Dispose();
                throw;
            }
            return ring;
        }
        catch
        {
            if (file is null) stream.Dispose();
            throw;
        }
    }

    private void Validate(long fileLength)
    {
        ref var header = ref Header;
        if (Volatile.Read(ref header.Magic) != RingLayout.Magic)
            throw new RingFormatException(Path, $"magic is 0x{header.Magic:x16}, not a Foom ring (0x{RingLayout.Magic:x16})");
        if (header.Version != RingLayout.Version)
            throw new RingFormatException(Path, $"version {header.Version}; this Foom reads version {RingLayout.Version}");
        if (header.HeaderSize != RingLayout.HeaderSize)
            throw new RingFormatException(Path, $"header_size {header.HeaderSize}, expected {RingLayout.HeaderSize}");
        var size = header.DataSize;
        if (size < MinimumDataSize || size > MaximumDataSize || !BitOperations.IsPow2(size))
            throw new RingFormatException(Path, $"data_size {size} is not a power of two between {MinimumDataSize} and {MaximumDataSize}");
        if ((ulong)fileLength < RingLayout.HeaderSize + size)
            throw new RingFormatException(Path, $"the file has {fileLength} bytes but its header promises {RingLayout.HeaderSize + size}");
    }

    /// <summary>The environment the target needs: LD_PRELOAD naming the hook, FOOM_RING naming this file.</summary>
    public IReadOnlyDictionary<string, string> TargetEnvironment(string? hookPath = null) => new Dictionary<string, string>
    {
        ["LD_PRELOAD"] = hookPath ?? HookLibrary.Path,
        ["FOOM_RING"] = System.IO.Path.GetFullPath(Path),
    };

    /// <summary>Tells the hook to stop recording (it checks at least every MiB of events).</summary>
    public void RequestStop()
    {
        ref var header = ref Header;
        if (Interlocked.CompareExchange(ref header.Stopped, (uint)StopReason.ByRecorder, (uint)StopReason.None) == (uint)StopReason.None)
            Volatile.Write(ref header.StoppedMs, (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// Raises a memory warning: the footprint and limit go beside the warning counter, the
    /// counter goes up by one, and every waiter on it (the hook's watcher thread) wakes.
    /// </summary>
    public void RaiseWarning(ulong footprintBytes, ulong limitBytes)
    {
        ref var header = ref Header;
        Volatile.Write(ref header.WarningFootprint, footprintBytes);
        Volatile.Write(ref header.WarningLimit, limitBytes);
        Volatile.Write(ref header.WarningMs, (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Interlocked.Increment(ref header.WarningSequence);
        fixed (uint* word = &header.WarningSequence) Futex.WakeAll(word);
    }

    /// <summary>
    /// Waits until the warning counter is no longer <paramref name="seen"/> (a warning was raised
    /// since), at most <paramref name="timeout"/>; returns the counter.
    /// </summary>
    public uint WaitForWarning(uint seen, TimeSpan timeout)
    {
        ref var header = ref Header;
        fixed (uint* word = &header.WarningSequence)
        {
            if (Volatile.Read(ref *word) == seen) Futex.Wait(word, seen, timeout);
            return Volatile.Read(ref *word);
        }
    }

    /// <summary>
    /// Wakes every waiter on the warning counter without raising a warning (waiters check the
    /// counter again and sleep on): how a thread in <see cref="WaitForWarning"/> is told to stop.
    /// </summary>
    public void WakeWarningWaiters()
    {
        fixed (uint* word = &Header.WarningSequence) Futex.WakeAll(word);
    }

    /// <summary>What the program said about itself and how it ended, as far as the header knows.</summary>
    public RingMarks ReadMarks()
    {
        ref var header = ref Header;
        string scene = ReadScene(ref header);
        return new RingMarks(
            TargetPid: Volatile.Read(ref header.TargetPid),
            Generation: Volatile.Read(ref header.Generation),
            State: (AppState)Volatile.Read(ref header.State),
            StateTime: Time(Volatile.Read(ref header.StateMs)),
            Scene: scene.Length == 0 ? null : scene,
            SceneTime: Time(Volatile.Read(ref header.SceneMs)),
            Heartbeat: Time(Volatile.Read(ref header.HeartbeatMs)),
            ExitKind: (ExitKind)Volatile.Read(ref header.ExitKind),
            ExitStatus: Volatile.Read(ref header.ExitStatus),
            ExitTime: Time(Volatile.Read(ref header.ExitMs)),
            CrashSignal: Volatile.Read(ref header.CrashSignal),
            CrashCode: Volatile.Read(ref header.CrashCode),
            CrashAddress: Volatile.Read(ref header.CrashAddress),
            CrashTime: Time(Volatile.Read(ref header.CrashMs)),
            QuitSignal: Volatile.Read(ref header.QuitSignal),
            QuitSenderPid: Volatile.Read(ref header.QuitSenderPid),
            QuitTime: Time(Volatile.Read(ref header.QuitMs)),
            Warnings: Volatile.Read(ref header.WarningSequence),
            WarningFootprint: Volatile.Read(ref header.WarningFootprint),
            WarningLimit: Volatile.Read(ref header.WarningLimit),
            WarningTime: Time(Volatile.Read(ref header.WarningMs)),
            Stopped: (StopReason)Volatile.Read(ref header.Stopped),
            StoppedTime: Time(Volatile.Read(ref header.StoppedMs)));
    }

    /// <summary>The loss and waiting counters.</summary>
    public RingCounters ReadCounters()
    {
        ref var header = ref Header;
        return new RingCounters(
            DroppedEvents: Volatile.Read(ref header.DroppedEvents),
            DroppedBytes: Volatile.Read(ref header.DroppedBytes),
            DroppedAllocations: Volatile.Read(ref header.DroppedAllocs),
            DroppedFrees: Volatile.Read(ref header.DroppedFrees),
            FullWaits: Volatile.Read(ref header.FullWaits),
            FullWaitTime: TimeSpan.FromTicks((long)(Volatile.Read(ref header.FullWaitNs) / 100)),
            UnknownStacks: Volatile.Read(ref header.UnknownStacks),
            ForeignAttaches: Volatile.Read(ref header.ForeignAttaches),
            Unrecorded: new UnrecordedEvents(
                Allocations: Volatile.Read(ref header.UnrecordedAllocs),
                AllocationBytes: Volatile.Read(ref header.UnrecordedAllocBytes),
                Frees: Volatile.Read(ref header.UnrecordedFrees),
                Mappings: Volatile.Read(ref header.UnrecordedMaps),
                MappingBytes: Volatile.Read(ref header.UnrecordedMapBytes),
                Unmappings: Volatile.Read(ref header.UnrecordedUnmaps),
                UnmappingBytes: Volatile.Read(ref header.UnrecordedUnmapBytes)));
    }

    private static string ReadScene(ref RingHeader header)
    {
        Span<byte> copy = stackalloc byte[RingLayout.SceneSize];
        for (var attempt = 0; ; attempt++)
        {
            var before = Volatile.Read(ref header.SceneSequence);
            fixed (byte* scene = header.Scene) new ReadOnlySpan<byte>(scene, RingLayout.SceneSize).CopyTo(copy);
            Interlocked.MemoryBarrier();
            var after = Volatile.Read(ref header.SceneSequence);
            if ((before & 1) == 0 && before == after) break;
            if (attempt > 1000) return ""; // a writer died mid-update (the process was killed)
            Thread.Yield();
        }
        var end = copy.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? copy : copy[..end]);
    }

    private static DateTimeOffset? Time(ulong milliseconds) =>
        milliseconds == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)milliseconds);

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        // Unmapped through its handle first, so that the accessor's Dispose finds the view closed
        // and skips its msync(MS_SYNC): writing the 8 MiB ring to disk held the end of every
        // `foom run` for 30-50 ms, and nothing needs it there (the page cache serves every
        // reader and outlives a SIGKILL of the recorder; a machine crash ends the session anyway).
        view.SafeMemoryMappedViewHandle.Dispose();
        view.Dispose();
        file.Dispose();
    }
}

/// <summary>The marks area of the ring header.</summary>
public readonly record struct RingMarks(
    int TargetPid,
    uint Generation,
    AppState State,
    DateTimeOffset? StateTime,
    string? Scene,
    DateTimeOffset? SceneTime,
    DateTimeOffset? Heartbeat,
    ExitKind ExitKind,
    int ExitStatus,
    DateTimeOffset? ExitTime,
    int CrashSignal,
    int CrashCode,
    ulong CrashAddress,
    DateTimeOffset? CrashTime,
    int QuitSignal,
    int QuitSenderPid,
    DateTimeOffset? QuitTime,
    uint Warnings,
    ulong WarningFootprint,
    ulong WarningLimit,
    DateTimeOffset? WarningTime,
    StopReason Stopped,
    DateTimeOffset? StoppedTime);

/// <summary>What the hook could not deliver, how long producers waited for room, and what went unrecorded after a stop.</summary>
public readonly record struct RingCounters(
    ulong DroppedEvents,
    ulong DroppedBytes,
    ulong DroppedAllocations,
    ulong DroppedFrees,
    ulong FullWaits,
    TimeSpan FullWaitTime,
    ulong UnknownStacks,
    uint ForeignAttaches,
    UnrecordedEvents Unrecorded);

/// <summary>A ring file or record that does not follow the format.</summary>
public sealed class RingFormatException(string path, string problem)
    : Exception($"{path}: {problem}")
{
    public string RingPath { get; } = path;
}
