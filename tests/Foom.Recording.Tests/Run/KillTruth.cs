using System.Buffers.Binary;
using Foom.Report.Model;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// What kill_truth.c held at the instant it was last seen (its TRUTH_FILE, written after every
/// operation), and what a report of its session says it held, compared exactly.
/// </summary>
public sealed record KillTruth(long HeldBlocks, long HeldBytes, long Allocations, long Frees, long Pending, long OperationsDone, bool Finished)
{
    public const string Site = "hold_block";

    public static KillTruth Read(string path)
    {
        // kill_truth opens its file, then sizes it to 64 zero bytes before its first operation: a
        // program killed before that (the file missing or empty) had done nothing and held nothing.
        if (!File.Exists(path)) return new KillTruth(0, 0, 0, 0, 0, 0, false);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0) return new KillTruth(0, 0, 0, 0, 0, 0, false);
        if (bytes.Length < 64) throw new InvalidDataException($"{path} has {bytes.Length} bytes, not kill_truth's 64");
        long At(int index) => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(index * 8, 8));
        return new KillTruth(At(0), At(1), At(2), At(3), At(4), At(5), At(6) == 1);
    }

    /// <summary>
    /// How the report's account of the site's blocks compares with the truth: "lossless" (the
    /// report holds every block, no gap stated), "exact gap" (the report states a gap, and its
    /// blocks plus the gap are the truth), "gap not exact" or "silent loss" (failures). A kill in
    /// the middle of an operation (Pending) makes either side of it true.
    /// </summary>
    public string Judge(Foom.Report.Model.Report report, out string detail)
    {
        var stacks = report.Items.SelectMany(item => item.Stacks).Where(stack => stack.CallerFunction == Site).ToList();
        long blocks = stacks.Sum(s => s.Count), bytes = stacks.Sum(s => s.Size);
        var stopped = report.Head.RecordingStopped;
        var gapStated = stopped is not null || report.Head.DroppedEvents > 0;
        var missing = stopped?.MissingHeapBlocks ?? 0;
        var accounted = blocks + missing;
        var acceptable = Pending switch { > 0 => new[] { HeldBlocks, HeldBlocks + 1 }, < 0 => [HeldBlocks, HeldBlocks - 1], _ => [HeldBlocks] };
        var acceptableBytes = Pending == 0 ? [HeldBytes] : new[] { HeldBytes, HeldBytes + Pending };
        detail = $"the program held {HeldBlocks} blocks of {HeldBytes} bytes (pending {Pending}, {OperationsDone} operations, finished {Finished}); " +
                 $"the report has {blocks} blocks of {bytes} bytes from {Site}" +
                 (stopped is null ? "" : $", recording stopped ({stopped.Reason}) with {stopped.UnrecordedAllocations} allocations and {stopped.UnrecordedFrees} frees unrecorded") +
                 (report.Head.DroppedEvents > 0 ? $", {report.Head.DroppedEvents} events dropped" : "");
        if (!gapStated)
            return acceptable.Contains(blocks) && acceptableBytes.Contains(bytes) ? "lossless" : "silent loss";
        // A dropped event is counted, but not which block it was: only a stop's counts are exact.
        return report.Head.DroppedEvents == 0 && acceptable.Contains(accounted) ? "exact gap" : "gap not exact";
    }
}
