namespace Foom.Storage.Sessions;

/// <summary>The footprint log of a session in brief (<see cref="FootprintLog.Summarize"/>).</summary>
/// <param name="Last">The newest sample; null when the log is missing, empty or unreadable.</param>
/// <param name="PeakBytes">The highest sample the log still holds.</param>
/// <param name="Problem">Why the log could not be read, naming the file; null when it could (or there is none).</param>
public sealed record FootprintLogSummary(FootprintRecord? Last, long? PeakBytes, string? Problem)
{
    /// <summary>
    /// Brings <paramref name="info"/>'s last and peak footprint up to what the log holds, when the
    /// log saw later or higher: what a reader of session.json alone would miss after a kill.
    /// </summary>
    public void CompleteInto(SessionInfo info)
    {
        if (Last is { } last && (info.LastFootprintTime is not { } time || last.TimeMilliseconds > time))
            (info.LastFootprintBytes, info.LastFootprintTime) = (last.Bytes, last.TimeMilliseconds);
        if (PeakBytes is { } peak && peak > (info.PeakFootprintBytes ?? 0)) info.PeakFootprintBytes = peak;
    }
}
