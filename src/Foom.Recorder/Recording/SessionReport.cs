using Foom.Report.Building;
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
            return new SessionMarks(marks.Scene, (long)Math.Min(counters.DroppedEvents, long.MaxValue));
        }
        catch (Exception e) when (e is RingFormatException or IOException or UnauthorizedAccessException)
        {
            return new SessionMarks(null, 0, $"{path} could not be read ({e.Message}): the scene and the count of dropped events are unknown");
        }
    }
}
