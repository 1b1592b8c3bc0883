using System.Globalization;
using Foom.Ring;
using Foom.Storage;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Recording;

/// <summary>What <see cref="RingLeftovers.Apply"/> did to one session.</summary>
/// <param name="EventsApplied">Events applied to the tables now.</param>
/// <param name="AbandonedBytes">Ring bytes reserved and never committed (the program died writing them), and what lay behind them.</param>
/// <param name="Problem">Why nothing (or not everything) could be applied; null when all went well.</param>
public sealed record LeftoverOutcome(long EventsApplied, ulong AbandonedBytes, string? Problem);

/// <summary>
/// At a later launch, finishes the work of a recorder that was killed with its program (a global
/// OOM, a power cut of the process tree): the events still in the session's ring, which it had
/// not applied, are applied to the session's tables before anyone builds a report from them.
///
/// Exactly once: the recorder stores, after applying each event, the ring position just past it
/// in live.foom (<see cref="Foom.Storage.Live.LiveAllocations.SourcePosition"/>), while the tail
/// it publishes to the hook lags by up to 64 KiB of events; so the events from the tail to that
/// position were applied and are skipped, and the one event at the position was applied too when
/// the kill fell between its changes and the store of its end, which
/// <see cref="EventApplier.ApplyUnlessPresent"/> finds. Events sent by stack hash alone find their
/// stack in the session's stack keys (stackkeys.foom), which the dead recorder wrote as it
/// learnt them. The tables are reopened as their writer (<see cref="SessionTables.Resume"/>: the
/// writer lock, free once the recorder is dead, keeps two launches from doing it at once), and
/// what was done is written to session.json (<see cref="SessionInfo.RingLeftovers"/>), from
/// where every report of the session says so.
/// </summary>
public static class RingLeftovers
{
    /// <summary>
    /// Applies what is left in <paramref name="sessionDirectory"/>'s ring; null when there is
    /// nothing to do (no tables or no ring, or tables their recorder closed: it had drained the
    /// ring). <paramref name="bySessionId"/> is the launch doing it, for the record.
    /// </summary>
    public static LeftoverOutcome? Apply(string sessionDirectory, string? bySessionId)
    {
        var ringPath = Path.Combine(sessionDirectory, EventRing.SessionFileName);
        if (!File.Exists(ringPath) || !File.Exists(Path.Combine(sessionDirectory, Foom.Storage.Live.LiveAllocations.FileName))) return null;
        if (SessionReader.WriterClosedCleanly(sessionDirectory)) return null;
        var read = SessionInfoFile.Read(sessionDirectory);
        if (!read.Ok) return new LeftoverOutcome(0, 0, $"{read.Path} {read.Problem}");

        SessionTables tables;
        try
        {
            tables = SessionTables.Resume(sessionDirectory);
        }
        catch (SessionFormatException damaged)
        {
            // The report of the session fails on the same fault, and says so.
            return new LeftoverOutcome(0, 0, $"the tables could not be reopened: {damaged.Message}");
        }
        catch (Exception busy) when (busy is IOException or UnauthorizedAccessException)
        {
            return new LeftoverOutcome(0, 0, $"the tables could not be reopened: {busy.Message}");
        }

        long applied;
        ulong abandoned;
        string? problem;
        var notes = new List<string>(tables.ResumeNotes);
        using (tables)
        {
            (applied, abandoned, problem) = Drain(ringPath, tables, read.Info.Pid);
        }
        if (problem is not null) notes.Add(problem);
        if (abandoned > 0)
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"{abandoned} bytes at the end of the ring were reserved by the program and never committed (it died writing them): they were not applied"));
        Record(sessionDirectory, bySessionId, applied, abandoned, notes);
        return new LeftoverOutcome(applied, abandoned, problem);
    }

    private static (long Applied, ulong Abandoned, string? Problem) Drain(string ringPath, SessionTables tables, int pid)
    {
        EventRing ring;
        try
        {
            ring = EventRing.Open(ringPath, writable: true);
        }
        catch (Exception unreadable) when (unreadable is IOException or UnauthorizedAccessException or RingFormatException)
        {
            return (0, 0, $"the events left in the ring could not be read: {unreadable.Message}");
        }
        using (ring)
        {
            var position = tables.Live.SourcePosition;
            long applied = 0;
            try
            {
                // 0: a recorder that did not keep the position (before Foom did); its published tail is all there is.
                var applier = EventApplier.Resume(tables, pid);
                var consumer = RingConsumer.TakeOver(ring, Math.Max(position, Volatile.Read(ref ring.Header.Tail)), applier.Stacks);
                var first = position != 0;
                while (consumer.TryRead(out var next))
                {
                    if (first)
                    {
                        first = false;
                        if (applier.ApplyUnlessPresent(next)) applied++;
                        continue;
                    }
                    applier.Apply(next);
                    applied++;
                }
                // A record still uncommitted now never will be: the program is dead.
                return (applied, consumer.PendingBytes, null);
            }
            catch (RingFormatException corrupt)
            {
                return (applied, 0, $"applying the events left in the ring stopped after {applied}: {corrupt.Message}");
            }
        }
    }

    /// <summary>Writes what was done into session.json, adding to what an earlier, interrupted attempt wrote.</summary>
    private static void Record(string sessionDirectory, string? bySessionId, long applied, ulong abandoned, List<string> notes)
    {
        var read = SessionInfoFile.Read(sessionDirectory);
        if (!read.Ok) return;
        var record = read.Info.RingLeftovers ?? new RingLeftoverRecord();
        record.Time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        record.BySession = bySessionId;
        record.EventsApplied += applied;
        record.AbandonedBytes = (long)abandoned;
        record.Notes.AddRange(notes);
        read.Info.RingLeftovers = record;
        try
        {
            SessionInfoFile.Write(sessionDirectory, read.Info);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            // The tables hold the events either way; only the sentence in the report is lost.
        }
    }
}
