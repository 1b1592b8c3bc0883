using Foom.Storage;
using Foom.Storage.Live;
using Foom.Storage.Sessions;
using Foom.Storage.Stacks;

namespace Foom.Report.Building;

/// <summary>
/// What the storage engine's tables of one session give a report: the live heap summed by
/// category and stack, the stacks' frames and the modules, and whether the writer was still
/// running or had to be recovered after it died.
/// </summary>
public sealed class SessionHeap
{
    public required LiveHeap Heap { get; init; }
    public required HeapContext Context { get; init; }
    /// <summary>The writer was still running: the heap is a snapshot taken while it wrote.</summary>
    public bool WriterRunning { get; init; }
    /// <summary>What reading the tables had to recover or could not be sure of, one sentence each.</summary>
    public List<string> RecoveryNotes { get; init; } = [];
    /// <summary>The smaps sample the mappings' resident bytes come from (read now when the program still runs, else the recorder's last); null when none.</summary>
    public ResidentSample? Resident { get; init; }

    /// <summary>
    /// Heap blocks from this size on get their resident bytes measured: glibc's smallest mmap
    /// threshold (M_MMAP_THRESHOLD's default), below which a block shares its pages with others.
    /// </summary>
    public const ulong LargeBlockBytes = 128 * 1024;

    /// <summary>
    /// Reads a session's tables read-only (the storage engine's <see cref="SessionTables.Open"/>):
    /// every live record, summed by (category, stack) as it is read; the stacks' frames and the
    /// modules are resolved later, only for the stacks the report lists. A damaged session is a
    /// <see cref="SessionFormatException"/> naming the file.
    /// </summary>
    public static SessionHeap Read(string sessionDirectory, SessionInfo info)
    {
        using var reader = SessionTables.Open(sessionDirectory);
        var status = reader.Recovery.Status;
        var notes = status == WriterStatus.ClosedCleanly ? [] : reader.Recovery.Notes.ToList();
        var resident = ResidentOf(sessionDirectory, info, status == WriterStatus.Running, notes);
        var heap = new LiveHeap(info.SampleBytes ?? 0);
        foreach (ref readonly var allocation in reader.Live.Allocations)
        {
            var kind = allocation.Kind == AllocationKind.Mapping ? BlockKind.Mapping
                : allocation.CategoryId != 0 ? BlockKind.Type
                : BlockKind.Malloc;
            // Mappings and large heap blocks (which malloc serves with mappings of their own) are
            // measured page by page: their size is address space, not necessarily memory.
            var measured = resident is not null && (kind == BlockKind.Mapping || allocation.Size >= LargeBlockBytes);
            heap.Add(kind, allocation.CategoryId, (uint)allocation.StackId, (long)allocation.Size,
                measured ? resident!.ResidentIn(allocation.Address, allocation.Size) : null);
        }

        var categories = reader.Categories.Names.ToArray();
        var modules = reader.Modules.All.Select(m => new ModuleRecord(m.Id, m.Path, m.BuildId.Length == 0 ? null : m.BuildId, m.LoadBias, m.Size, IsMain: false) { Start = m.Start }).ToList();
        var main = modules.FirstOrDefault(m => info.MainBuildId is { Length: > 0 } id && string.Equals(m.BuildId, id, StringComparison.OrdinalIgnoreCase))
                   ?? modules.FirstOrDefault(m => info.MainBinary is { Length: > 0 } path && m.Path == path)
                   ?? modules.FirstOrDefault(m => m.Id == 1);
        if (main is not null) modules[modules.IndexOf(main)] = main with { IsMain = true };

        // Frames are copied out now: the mapped tables close with the reader.
        var stacks = reader.Stacks;
        var frames = new Dictionary<uint, RawFrame[]>();
        foreach (var (_, stackId, _) in heap.Cells())
        {
            if (frames.ContainsKey(stackId)) continue;
            var list = new List<RawFrame>();
            foreach (var frame in stacks.GetFrames((int)stackId)) list.Add(new RawFrame(frame.ModuleId, frame.Offset));
            frames[stackId] = list.ToArray();
        }

        if (reader.Modules.OverflowCount > 0) notes.Add($"{reader.Modules.OverflowCount} module loads got no id (more than 65,535 modules): their frames are unnamed addresses");
        if (reader.Categories.OverflowCount > 0) notes.Add($"{reader.Categories.OverflowCount} category names got no id (more than 65,535): their blocks are named by size");
        return new SessionHeap
        {
            Heap = heap,
            Context = new HeapContext
            {
                CategoryName = key => (uint)key.Id < (uint)categories.Length ? categories[key.Id] : "",
                Frames = id => frames.TryGetValue(id, out var f) ? f : [],
                Modules = modules,
            },
            WriterRunning = status == WriterStatus.Running,
            RecoveryNotes = notes,
            Resident = resident,
        };
    }

    /// <summary>
    /// The resident bytes of the program's mappings: read from /proc/PID/smaps now while the
    /// recorder still runs and the process is its child (so the pid is not another's), else the
    /// recorder's last sample in the session directory (docs/hook.md, "Resident bytes").
    /// </summary>
    private static ResidentSample? ResidentOf(string sessionDirectory, SessionInfo info, bool recording, List<string> notes)
    {
        if (info.Pid <= 0) return null;
        if (recording && ProcessStat.Read(info.Pid)?.ParentPid == info.RecorderPid && ResidentSample.ReadProcess(info.Pid, "live") is { } live) return live;
        try
        {
            return ResidentSample.Read(sessionDirectory) is { } sampled && sampled.Pid == info.Pid ? sampled : null;
        }
        catch (SessionFormatException e)
        {
            notes.Add($"{e.Message}: the mappings' resident bytes are left out");
            return null;
        }
    }
}
