using System.Diagnostics;
using Foom.Ring;
using Foom.Storage.Sessions;
using Foom.Symbols.Jit;

namespace Foom.Recorder.Recording;

/// <summary>
/// Keeps in the session directory what vanishes with the program: its resident bytes per
/// mapping (/proc/PID/smaps, as <see cref="ResidentSample"/>), and its perf map
/// (/tmp/perf-PID.map, written by .NET with DOTNET_PerfMapEnabled=1 and by Python 3.12+ with
/// -X perf), which names JIT and interpreter frames. Both are taken at every memory warning (at
/// most one a second) and periodically, on a thread of their own so that a slow smaps read never
/// delays the monitor's limit checks. Reading smaps walks the program's page tables (and holds
/// its mmap lock while it does), so the period grows with what a read costs: at least
/// <see cref="CostFactor"/> times the last read, which keeps the cost under 2 % of one core and
/// of the program's time. The perf map is append-only: each copy adds only the new whole lines,
/// and a last copy is made when the run ends (the file outlives the program).
/// </summary>
public sealed class TargetSnapshots : IDisposable
{
    public static readonly TimeSpan MinimumPeriod = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan WarningSpacing = TimeSpan.FromSeconds(1);
    public const int CostFactor = 50;
    /// <summary>Finish wakes the thread; this bounds its sleep should a wake come just before it sleeps.</summary>
    private static readonly TimeSpan StopCheck = TimeSpan.FromMilliseconds(200);

    private readonly EventRing _ring;
    private readonly int _pid;
    private readonly string _sessionDirectory;
    private readonly PerfMapCopy _perfMap;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private TimeSpan _period = MinimumPeriod;

    private TargetSnapshots(EventRing ring, int pid, string sessionDirectory, DateTime programStarted, TimeSpan? period)
    {
        _ring = ring;
        _pid = pid;
        _sessionDirectory = sessionDirectory;
        _perfMap = new PerfMapCopy($"/tmp/perf-{pid}.map", Path.Combine(sessionDirectory, $"perf-{pid}.map"), programStarted);
        if (period is { } given) _period = given;
        _thread = new Thread(Run) { IsBackground = true, Name = "foom target snapshots" };
    }

    /// <summary>Resident samples taken so far (warnings and periodic).</summary>
    public int Samples { get; private set; }

    /// <summary>The first problem writing into the session directory (disk full, ...); sampling goes on.</summary>
    public string? Problem { get; private set; }

    /// <summary>
    /// Starts watching <paramref name="pid"/>, which was started after <paramref name="programStarted"/>
    /// (a perf map written before is another process's); <paramref name="period"/> replaces the first period (tests).
    /// </summary>
    public static TargetSnapshots Start(EventRing ring, int pid, string sessionDirectory, DateTime programStarted, TimeSpan? period = null)
    {
        var snapshots = new TargetSnapshots(ring, pid, sessionDirectory, programStarted, period);
        snapshots._thread.Start();
        return snapshots;
    }

    private void Run()
    {
        var seen = _ring.ReadMarks().Warnings;
        var warned = false;
        var lastWarningSample = DateTime.MinValue;
        var next = DateTime.UtcNow + _period;
        while (!_stopping)
        {
            // A warning sooner than WarningSpacing after the last one's sample waits for its turn.
            var due = warned && lastWarningSample + WarningSpacing < next ? lastWarningSample + WarningSpacing : next;
            var wait = due - DateTime.UtcNow;
            var current = _ring.WaitForWarning(seen, wait <= TimeSpan.Zero ? TimeSpan.Zero : wait < StopCheck ? wait : StopCheck);
            if (_stopping) break;
            if (current != seen) (seen, warned) = (current, true);
            var now = DateTime.UtcNow;
            if (warned && now - lastWarningSample >= WarningSpacing)
            {
                (warned, lastWarningSample) = (false, now);
                next = now + Take("warning");
            }
            else if (now >= next)
            {
                next = now + Take("periodic");
            }
        }
    }

    /// <summary>Takes one sample; returns the period until the next one.</summary>
    private TimeSpan Take(string reason)
    {
        var clock = Stopwatch.StartNew();
        var sample = ResidentSample.ReadProcess(_pid, reason);
        var cost = clock.Elapsed;
        try
        {
            if (sample is not null)
            {
                sample.Write(_sessionDirectory);
                Samples++;
            }
            _perfMap.CopyNew();
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            Problem ??= $"resident sample or perf map copy: {problem.Message}";
        }
        var byCost = cost * CostFactor;
        return byCost > _period ? byCost : _period;
    }

    /// <summary>Stops sampling and copies what the perf map gained since the last copy. Call after the program has ended.</summary>
    public void Finish()
    {
        if (_stopping) return;
        _stopping = true;
        _ring.WakeWarningWaiters();
        _thread.Join();
        try
        {
            _perfMap.CopyNew();
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            Problem ??= $"perf map copy: {problem.Message}";
        }
    }

    public void Dispose() => Finish();

    /// <summary>Deletes the runtime's /tmp/perf-PID.map and /tmp/perfinfo-PID.map once the session has its copy of the map.</summary>
    public static void RemoveCopiedPerfMaps(int pid, string sessionDirectory)
    {
        if (!File.Exists(Path.Combine(sessionDirectory, $"perf-{pid}.map"))) return;
        foreach (var path in new[] { $"/tmp/perf-{pid}.map", $"/tmp/perfinfo-{pid}.map" })
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
            {
                // Left behind: a file in /tmp, not a loss.
            }
        }
    }
}

/// <summary>
/// Copies an append-only text file (a perf map) a piece at a time: only the whole lines added
/// since the last copy. A file last written before the program started is left alone: pids come
/// round again, and a process that had this pid before (killed, or not run under Foom) leaves its
/// /tmp/perf-PID.map behind, naming addresses that mean nothing in this program.
/// </summary>
internal sealed class PerfMapCopy(string source, string destination, DateTime programStarted)
{
    private long _copied;

    public void CopyNew()
    {
        if (!PerfMap.WrittenSince(source, programStarted)) return;
        FileStream input;
        try
        {
            input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return;
        }
        catch (DirectoryNotFoundException)
        {
            return;
        }
        using (input)
        {
            var length = input.Length;
            // Shorter than what was copied: the file was written anew (an exec): copy it afresh.
            var restart = length < _copied;
            if (restart) _copied = 0;
            if (length == _copied) return;
            input.Position = _copied;
            var buffer = new byte[length - _copied];
            input.ReadExactly(buffer);
            var whole = Array.LastIndexOf(buffer, (byte)'\n') + 1;
            if (whole == 0) return;
            using var output = new FileStream(destination, restart || _copied == 0 ? FileMode.Create : FileMode.Append, FileAccess.Write);
            output.Write(buffer, 0, whole);
            _copied += whole;
        }
    }
}
