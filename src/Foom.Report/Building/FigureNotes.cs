using Foom.Report.Model;
using Foom.Report.Views;

namespace Foom.Report.Building;

/// <summary>
/// One sentence for each way the head's figures (footprint, peak, limit, live) disagree, saying
/// why, so that a reader never takes "live 1.03 GiB" under a 400 MiB limit for an error.
/// </summary>
internal static class FigureNotes
{
    public static List<string>? Of(ReportHead head)
    {
        var notes = new List<string>();
        var live = head.LiveBytes;
        var over = head.LimitBytes is long limit && live > limit ? $"the limit ({FrameLabels.Bytes(limit)})"
                 : head.FootprintBytes is long footprint && live > footprint ? $"the footprint ({FrameLabels.Bytes(footprint)})" : null;
        if (over is not null)
            notes.Add($"live ({FrameLabels.Bytes(live)}) is more than {over}: live counts every block at the size asked for, and large blocks " +
                      "(which malloc serves with mappings of their own) are address space reserved, resident only where the program touched them; " +
                      "the footprint and the limit count resident memory" +
                      (head.LiveNotResidentBytes is long notResident
                          ? $" ({FrameLabels.Bytes(notResident)} of live was not resident when it was measured, leaving {FrameLabels.Bytes(live - notResident)})"
                          : ""));
        if (head.FootprintBytes is long last && head.PeakFootprintBytes is long peak && last < peak)
            notes.Add($"the footprint ({FrameLabels.Bytes(last)}) is the recorder's last sample and the peak ({FrameLabels.Bytes(peak)}) its highest: " +
                      (head.ExitReason is "foreground_oom" or "background_oom" or "suspended_oom"
                          ? "after the peak the kernel reclaimed memory before the kill (page cache, swap), or the program freed some, so the last sample is lower"
                          : "the program's memory fell after the peak"));
        return notes.Count > 0 ? notes : null;
    }
}
