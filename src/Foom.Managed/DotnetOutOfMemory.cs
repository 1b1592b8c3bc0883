using System.Globalization;
using Foom.Storage.Managed;

namespace Foom.Managed;

/// <summary>
/// A .NET program that died of an OutOfMemoryException: the evidence for a memory-death verdict
/// (docs/exit-reasons.md, rule 4a). Found in the runtime's crash report in the session (the
/// crashed thread's exception and stack), else in the OutOfMemoryException the diagnostics port
/// saw thrown shortly before the death; with the GC heap hard limit in force and where it came
/// from, and the heap's size at the last collection.
/// </summary>
public sealed record DotnetOutOfMemory(IReadOnlyList<string> Evidence)
{
    /// <summary>The verdict's mechanism: the .NET runtime threw OutOfMemoryException and the program died of it.</summary>
    public const string Mechanism = "dotnet_out_of_memory";

    /// <summary>An OutOfMemoryException seen by the port counts for a death this soon after it (the runtime prints, writes its crash report, aborts).</summary>
    public static readonly TimeSpan RecentEnough = TimeSpan.FromSeconds(30);

    private const int FramesShown = 6;

    /// <summary>
    /// The evidence of an OutOfMemoryException death in the session, or null when there is none;
    /// <paramref name="problem"/> says what could not be read (a crash report that is truncated).
    /// </summary>
    public static DotnetOutOfMemory? Find(string sessionDirectory, ManagedStatus? status, long deathTime, out string? problem)
    {
        problem = null;
        var evidence = new List<string>();
        DotnetCrashReport? report = null;
        if (DotnetCrashReport.Find(sessionDirectory, DotnetCrashSettings.DumpNamePrefix) is { } path)
        {
            try
            {
                report = DotnetCrashReport.Read(path);
            }
            catch (CrashReportException unreadable)
            {
                problem = $"the .NET crash report could not be read: {unreadable.Message}";
            }
        }
        var thrown = status?.OutOfMemoryExceptions is { Count: > 0 } seen && deathTime - seen[^1].Time <= RecentEnough.TotalMilliseconds ? seen[^1] : null;
        if (report is { IsOutOfMemory: true })
        {
            evidence.Add($"the .NET runtime's crash report: unhandled {report.ExceptionType}" + (report.HResult is { } hresult ? $" (HRESULT {hresult})" : "")
                         + " on the crashed thread" + Stack(report.ManagedFrames));
            if (thrown?.Message is { } message) evidence.Add($"its message: \"{message}\"");
        }
        else if (thrown is not null)
        {
            evidence.Add($"the diagnostics port saw {thrown.Type} thrown at {Time(thrown.Time)}" + (thrown.Message is { } message ? $" (\"{message}\")" : "")
                         + Stack(thrown.Frames));
            evidence.Add(report is null
                ? "no .NET crash report in the session" + (problem is null ? "" : $" ({problem})")
                : $"the .NET crash report names {report.ExceptionType ?? "no exception"} on the crashed thread");
        }
        else return null;

        if (status?.GcHeapHardLimitSource is { } source)
            evidence.Add(status.GcHeapHardLimitBytes is { } limit
                ? $"GC heap hard limit {Mib(limit)}: {source}"
                : $"GC heap hard limit: {source}");
        evidence.Add(status?.GcHeapBytes is { } heap
            ? $"GC heap {Mib(heap)} after the last collection the diagnostics port reported ({Time(status.GcHeapTime ?? deathTime)})"
            : "the GC heap's size at death is unknown: the diagnostics port reported no collection");
        return new DotnetOutOfMemory(evidence);
    }

    private static string Stack(IReadOnlyList<string> frames) =>
        frames.Count == 0 ? "" : ", thrown in " + string.Join(" ← ", frames.Take(FramesShown)) + (frames.Count > FramesShown ? " ← …" : "");

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB");

    private static string Time(long milliseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(milliseconds).UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) + " UTC";
}
