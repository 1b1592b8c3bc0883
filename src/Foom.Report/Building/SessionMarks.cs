using Foom.Report.Model;

namespace Foom.Report.Building;

/// <summary>
/// What the session's event ring (ring.foom, beside the tables) tells a report: the scene the app
/// declared last, the events the hook could not deliver, and whether the hook stopped recording
/// while the program ran on. The ring survives the deaths of the program and of the recorder, so
/// these are known even when session.json has no end record. The report does not read the ring
/// itself: the recorder side reads it (Foom.Recorder's <c>SessionReport</c>) and hands the builder
/// these values.
/// </summary>
/// <param name="RecordingStopped">Set when the hook stopped recording while the program ran on, with what it counted but did not record.</param>
/// <param name="Problem">Why the ring could not be read (a note for head.recovery), when it could not: then the rest is unknown.</param>
public sealed record SessionMarks(string? Scene, long DroppedEvents, ReportRecordingStopped? RecordingStopped = null, string? Problem = null)
{
    /// <summary>A session without a ring (nothing was recorded through the hook).</summary>
    public static SessionMarks None { get; } = new(null, 0);
}
