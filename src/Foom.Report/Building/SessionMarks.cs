using Foom.Ring;

namespace Foom.Report.Building;

/// <summary>
/// What the session's event ring (ring.foom, beside the tables) tells a report: the scene the app
/// declared last and the events the hook could not deliver. The ring survives the deaths of the
/// program and of the recorder, so these are known even when session.json has no end record.
/// </summary>
public sealed record SessionMarks(string? Scene, long DroppedEvents)
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
            return new SessionMarks(marks.Scene, (long)Math.Min(counters.DroppedEvents, long.MaxValue));
        }
        catch (Exception e) when (e is RingFormatException or IOException or UnauthorizedAccessException)
        {
            notes.Add($"{path} could not be read ({e.Message}): the scene and the count of dropped events are unknown");
            return null;
        }
    }
}
