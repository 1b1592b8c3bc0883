using System.Globalization;
using Foom.Report.IO;
using Foom.Report.Model;
using Foom.Storage;
using Foom.Storage.Sessions;

namespace Foom.Report.Building;

/// <summary>How a report is built from a session, beyond the selection and budget of <see cref="ReportOptions"/>.</summary>
public sealed class ReportBuildOptions
{
    public ReportOptions Report { get; init; } = ReportOptions.Default;
    /// <summary>The moment the report is made (report_time; and the id of a live snapshot). Now when null.</summary>
    public DateTimeOffset? Now { get; init; }
    /// <summary>
    /// Names frames on this machine, where the binaries are (ELF symbols, DWARF lines, perf maps);
    /// null leaves frames as uuid@offset for the server. <see cref="ReportSymbolizer.Shared"/> by default.
    /// </summary>
    public Foom.Symbols.Symbolizer? Symbolizer { get; init; } = ReportSymbolizer.Shared;
}

/// <summary>
/// Builds the report of one session directory: the lead's one call at a death, at the next
/// launch, or on demand (`foom report SESSION_DIR`). Reads session.json for the run's facts and
/// the storage engine's tables (read-only, also after the writer was killed) for the live heap,
/// and assembles them (<see cref="ReportAssembler"/>). A session that cannot be read whole is a
/// <see cref="ReportFormatException"/> naming the file; one that needed recovery is built and
/// says so in head.recovery.
/// </summary>
public static class ReportBuilder
{
    /// <param name="marks">What the session's event ring says (scene, dropped events), read by the recorder side.</param>
    public static Model.Report Build(string sessionDirectory, SessionMarks marks, ReportBuildOptions? options = null)
    {
        options ??= new ReportBuildOptions();
        var now = options.Now ?? DateTimeOffset.UtcNow;
        var info = SessionDirectories.ReadInfo(sessionDirectory);
        SessionHeap heap;
        try
        {
            heap = SessionHeap.Read(sessionDirectory, info);
        }
        catch (SessionFormatException e)
        {
            // A damaged table: the report is not made, and the error names the file.
            throw new ReportFormatException(e.FilePath, "", e.Problem, e);
        }
        var reportOptions = options.Report;
        var perfMaps = ReportSymbolizer.PerfMapsOf(sessionDirectory, info.Pid, DateTimeOffset.FromUnixTimeMilliseconds(info.StartTime).UtcDateTime, heap.WriterRunning);
        if (options.Symbolizer is { } symbolizer && reportOptions.Symbolize is null)
            reportOptions = reportOptions with { Symbolize = ReportSymbolizer.For(symbolizer, perfMaps) };
        var head = Head(info, heap, marks, now);
        head.PythonFrames = PythonFrameNotes.Read(sessionDirectory);
        // A .NET target's managed heap: its census and sampled stacks, when the session has them.
        var managed = ManagedHeap.Read(sessionDirectory, perfMaps);
        if (managed is { Problems.Count: > 0 }) head.Recovery = [.. head.Recovery ?? [], .. managed.Problems];
        var report = ReportAssembler.Assemble(heap.Heap, heap.Context, reportOptions, head, managed);
        report.Head.FigureNotes = head.NotRecorded is null ? FigureNotes.Of(report.Head) : null;
        if (report.Head.Sampling is { } sampling)
            report.Head.FigureNotes = [SampledEstimates.Note(sampling), .. report.Head.FigureNotes ?? []];
        return report;
    }

    /// <summary>
    /// Why no allocation was recorded, when none was: the hook never reached the recorder (no
    /// module was ever recorded, no block is live) in a run that has ended. Null otherwise.
    /// </summary>
    private static string? NotRecorded(SessionInfo info, SessionHeap heap, bool recording)
    {
        if (recording || info.End is null || heap.Context.Modules.Count > 0 || heap.Heap.LiveCount > 0) return null;
        var why = info.RecordingNotes is { Count: > 0 } notes ? string.Join("; ", notes) : "the hook never reported to the recorder (no module was recorded)";
        return $"allocations could not be recorded: {why}. The exit reason, footprint, peak and limit were watched from outside the program and still hold; " +
               "the live totals are 0 because nothing was seen, not because nothing was live";
    }

    /// <summary>The run's facts, from session.json and the reader's state; the assembler adds the live totals and what was trimmed.</summary>
    private static ReportHead Head(SessionInfo info, SessionHeap heap, SessionMarks marks, DateTimeOffset now)
    {
        var head = new ReportHead();
        var recording = heap.WriterRunning;
        head.ProtocolVersion = ReportReader.SupportedProtocolVersion;
        head.ReportId = recording ? $"{info.SessionId}.live.{now.ToUnixTimeMilliseconds()}" : info.SessionId;
        head.SessionId = info.SessionId;
        head.LiveSnapshot = recording;
        head.Platform = "linux";
        head.AppId = info.AppId;
        head.AppVersion = info.AppVersion;
        head.AppUuid = info.MainBuildId ?? heap.Context.Modules.FirstOrDefault(m => m.IsMain)?.BuildId;
        head.DeviceId = info.DeviceId;
        head.UserId = info.UserId;
        head.Phone = info.Host;
        head.OsVersion = info.KernelRelease ?? info.OsVersion;
        head.LaunchTime = info.StartTime;
        head.ReportTime = now.ToUnixTimeMilliseconds();
        if (info.End is { } end)
        {
            head.ExitReason = end.ExitReason;
            head.ExitHow = end.How;
            head.ExitEvidence = [.. end.Evidence];
            head.ExitMechanism = end.Mechanism;
        }
        head.LimitBytes = info.Limit?.Bytes;
        head.FootprintBytes = info.LastFootprintBytes;
        head.PeakFootprintBytes = info.PeakFootprintBytes;
        head.OomScore = info.OomScore;
        head.OomScoreAdj = info.OomScoreAdj;
        var recovery = new List<string>(heap.RecoveryNotes);
        if (marks.Problem is { } problem) recovery.Add(problem);
        head.Scene = marks.Scene;
        // The recorder copies the ring's counter into session.json at the end; the ring has it also when the recorder died.
        head.DroppedEvents = Math.Max(info.DroppedEvents, marks.DroppedEvents);
        head.RecordingStopped = marks.RecordingStopped;
        head.Warnings = info.Warnings.Count > 0
            ? info.Warnings.Select(w => new ReportWarning { Time = w.Time, FootprintBytes = w.FootprintBytes, LimitBytes = w.LimitBytes, Source = w.Source, Detail = w.Detail }).ToList()
            : null;
        if (info.End is null && !recording)
            recovery.Insert(0, "the recorder died with the program: session.json has no end record (the exit reason is inferred at the next launch)");
        if (info.RingLeftovers is { } leftovers)
        {
            recovery.Add(string.Create(CultureInfo.InvariantCulture,
                $"the recorder died before it had closed its tables: at the launch of session {leftovers.BySession ?? "(unknown)"} they were reopened, " +
                $"and {leftovers.EventsApplied:N0} events it had left unapplied in the ring (ring.foom) were applied to them"));
            recovery.AddRange(leftovers.Notes);
        }
        head.Recovery = recovery.Count > 0 ? recovery : null;
        head.RecordingNotes = info.RecordingNotes is { Count: > 0 } notes ? [.. notes] : null;
        head.NotRecorded = NotRecorded(info, heap, recording);
        if (heap.Resident is { } resident)
        {
            head.ResidentTime = resident.TimeMilliseconds;
            head.ResidentSource = resident.Reason;
            head.LiveNotResidentBytes = heap.Heap.NotResidentBytes;
        }
        return head;
    }
}
