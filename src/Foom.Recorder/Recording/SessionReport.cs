using Foom.Report.Building;
using Foom.Report.Model;
using Foom.Ring;

namespace Foom.Recorder.Recording;

/// <summary>
/// The report of a session Foom recorded: its tables through <see cref="ReportBuilder"/>, with
/// what its event ring (ring.foom) says about the app's last scene and the events the hook lost.
/// The report stage does not know the ring; this is where the two meet, for `foom run` at a death
/// and `foom report SESSION_DIR`.
/// </summary>
public static class SessionReport
{
    public static Report.Model.Report Build(string sessionDirectory, ReportBuildOptions? options = null) =>
        ReportBuilder.Build(sessionDirectory, ReadMarks(sessionDirectory), options);

    /// <summary>The ring's marks; none when the session has no ring; a damaged ring gives a problem to note instead of failing the report.</summary>
    public static SessionMarks ReadMarks(string sessionDirectory)
    {
        var path = Path.Combine(sessionDirectory, EventRing.SessionFileName);
        if (!File.Exists(path)) return SessionMarks.None;
        try
        {
            using var ring = EventRing.Open(path);
            var marks = ring.ReadMarks();
            var counters = ring.ReadCounters();
            return new SessionMarks(marks.Scene, Count(counters.DroppedEvents), Stopped(marks, counters.Unrecorded));
        }
        catch (Exception e) when (e is RingFormatException or IOException or UnauthorizedAccessException)
        {
            return new SessionMarks(null, 0, null,
                $"{path} could not be read ({e.Message}): the scene, the count of dropped events and whether recording stopped early are unknown");
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
