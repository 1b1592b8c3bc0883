namespace Foom.Report.Building;

/// <summary>
/// What the storage engine's tables of one session give a report: the live heap summed by
/// category and stack, the stacks' frames and the modules, the footprint samples, the dropped
/// events, the last scene, and what had to be recovered to read them.
/// </summary>
public sealed class SessionHeap
{
    public required LiveHeap Heap { get; init; }
    public required HeapContext Context { get; init; }
    public List<long[]> FootprintSamples { get; init; } = [];
    public long DroppedEvents { get; init; }
    public string? Scene { get; init; }
    public List<string> RecoveryNotes { get; init; } = [];

    /// <summary>Reads a session's tables read-only; <paramref name="writerRunning"/> when its recorder is still writing.</summary>
    public static SessionHeap Read(string sessionDirectory, bool writerRunning) =>
        throw new NotSupportedException(
            $"{sessionDirectory}: reading a session's live allocations, stacks and modules needs the storage engine's reader, which is not on main yet (issue 2); a report file can be shown meanwhile");
}
