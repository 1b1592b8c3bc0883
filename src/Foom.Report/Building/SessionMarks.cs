using Foom.Report.Model;
using Foom.Ring;

namespace Foom.Report.Building;

/// <summary>
/// What the session's event ring (ring.foom, beside the tables) tells a report: the scene the app
/// declared last and the events the hook could not deliver. The ring survives the deaths of the
/// program and of the recorder, so these are known even when session.json has no end record.
/// RecordingStopped is set when the hook stopped recording while the program ran on.
/// </summary>
public sealed record SessionMarks(string? Scene, long DroppedEvents, ReportRecordingStopped? RecordingStopped)
{
    /// <summary>The marks, or null when the session has no ring (nothing was recorded); a damaged ring adds a note instead of failing the report.</summary>
    public static SessionMarks? Read(string sessionDirectory, List<string> notes)
    {
        var path = Path.Combine(sessionDirectory, EventRing.SessionFileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var ring = EventRing.Open(path);
            var marks = ring.ReadMarks();
            var counters = ring.ReadCounters();
            return new SessionMarks(marks.Scene, (long)Math.Min(counters.DroppedEvents, long.MaxValue), Stopped(marks, counters.Unrecorded));
        }
        catch (Exception e) when (e is RingFormatException or IOException or UnauthorizedAccessException)
        {
            notes.Add($"{path} could not be read ({e.Message}): the scene, the count of dropped events and whether recording stopped early are unknown");
            return null;
        }
    }

    private static ReportRecordingStopped? Stopped(RingMarks marks, UnrecordedEvents unrecorded)
    {
        if (marks.Stopped == StopReason.None && !unrecorded.Any) return null;
        return new ReportRecordingStopped
        {
            Reason = marks.Stopped switch
            {
                StopReason.RecorderGone => "recorder_gone",
                StopReason.ByRecorder => "by_recorder",
                StopReason.RingInvalid => "ring_invalid",
                var other => "stop_" + ((uint)other).ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            Time = marks.StoppedTime?.ToUnixTimeMilliseconds(),
            UnrecordedAllocations = Count(unrecorded.Allocations),
            UnrecordedAllocationBytes = Count(unrecorded.AllocationBytes),
            UnrecordedFrees = Count(unrecorded.Frees),
            UnrecordedMappings = Count(unrecorded.Mappings),
            UnrecordedMappingBytes = Count(unrecorded.MappingBytes),
            UnrecordedUnmappings = Count(unrecorded.Unmappings),
            UnrecordedUnmappingBytes = Count(unrecorded.UnmappingBytes),
        };
    }

    private static long Count(ulong value) => (long)Math.Min(value, long.MaxValue);
}
