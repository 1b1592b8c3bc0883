using System.Globalization;
using Foom.Managed;
using Foom.Recorder.Exits;
using Foom.Recorder.Launch;
using Foom.Recorder.Limits;
using Foom.Ring;
using Foom.Storage.Logs;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Recording;

/// <summary>
/// Watches the running target the way iOS watches an app: its footprint against its limit
/// (a history for the report's chart, the peak, memory warnings at --warn-at and on pressure),
/// Foom's own limit kill where no cgroup could enforce it (Jetsam's role), the watchdog on
/// foreground heartbeats (the 0x8badf00d kill), a debugger attaching, and the kernel's OOM lines.
/// Everything it learns that must survive a kill goes into session.json at once.
/// </summary>
internal sealed class RunMonitor
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan SlowChecksEvery = TimeSpan.FromSeconds(1);

    /// <summary>Pressure can fire many times a second; a warning per second is enough to tell the program (an OOM is always told).</summary>
    private static readonly TimeSpan KernelWarningSpacing = TimeSpan.FromSeconds(1);

    /// <summary>After a warning, the footprint must fall this far below the threshold before another.</summary>
    private const double WarningHysteresis = 0.05;

    private readonly RunOptions _options;
    private readonly TargetProcess _target;
    private readonly TargetMemory _memory;
    private readonly EventRing _ring;
    private readonly SessionInfo _info;
    private readonly string _sessionDirectory;
    private readonly CircularLog<FootprintRecord> _footprints;
    private readonly MemoryWarningSources _kernelWarnings;
    private readonly string? _whyFoomEnforcesTheLimit;
    private readonly Action _memoryWarned;
    private DateTime _lastLogged = DateTime.MinValue;
    private DateTime _lastSlowChecks = DateTime.MinValue;
    private DateTime _lastKernelWarning = DateTime.MinValue;
    private bool _warningArmed = true;

    /// <param name="kernelWarnings">The kernel's own notifications (cgroup usage threshold, pressure
    /// level, OOM; PSI), which raise warnings between footprint samples; registered before the
    /// program started, so a program that dies at once still has its warnings. The sampled threshold
    /// covers machines without them.</param>
    public RunMonitor(RunOptions options, TargetProcess target, TargetMemory memory, EventRing ring, SessionInfo info,
        string sessionDirectory, CircularLog<FootprintRecord> footprints, KernelOomWatch kernel, MemoryWarningSources kernelWarnings,
        string? whyFoomEnforcesTheLimit, Action memoryWarned)
    {
        _options = options;
        _target = target;
        _memory = memory;
        _ring = ring;
        _info = info;
        _sessionDirectory = sessionDirectory;
        _footprints = footprints;
        Kernel = kernel;
        _whyFoomEnforcesTheLimit = whyFoomEnforcesTheLimit;
        _kernelWarnings = kernelWarnings;
        _memoryWarned = memoryWarned;
    }

    public KernelOomWatch Kernel { get; }

    /// <summary>
    /// A .NET program's managed recorder, told each footprint and warning. Attached once the
    /// monitor (and the kernel's notifications) are set up, so that loading it never delays them.
    /// </summary>
    public ManagedRecorder? Managed { get; set; }

    /// <summary>Set when Foom itself killed the target (its own limit, or the watchdog).</summary>
    public FoomKill? FoomKill { get; private set; }

    public bool DebuggerSeen { get; private set; }

    /// <summary>Takes a snapshot report now, whatever --snapshot-at-warning says (an OutOfMemoryException the program survived).</summary>
    public Action? SnapshotNow { get; set; }

    private readonly System.Collections.Concurrent.ConcurrentQueue<Foom.Storage.Managed.ManagedExceptionEvent> _outOfMemory = new();

    /// <summary>
    /// The program threw an OutOfMemoryException (called from the managed recorder's task): on the
    /// monitor's next tick it is a memory warning, and a snapshot report is made at once, so that a
    /// program that survives it (a server turning it into a 500) shows up before it ever dies.
    /// </summary>
    public void OutOfMemoryThrown(Foom.Storage.Managed.ManagedExceptionEvent thrown) => _outOfMemory.Enqueue(thrown);

    /// <summary>Runs until the target has exited.</summary>
    public async Task WatchUntilExit()
    {
        while (!_target.Exited.IsCompleted)
        {
            Sample();
            await Task.WhenAny(_target.Exited, Task.Delay(Tick)).ConfigureAwait(false);
        }
        Kernel.Poll();
        // A program that dies within a tick of the kernel's warning still has it in its session.
        HearKernelWarnings(DateTime.UtcNow);
    }

    private void HearKernelWarnings(DateTime now)
    {
        foreach (var fired in MemoryNotifications.WaitAny(_kernelWarnings.Notifications, TimeSpan.Zero))
        {
            var peak = 0L;
            if (fired.Source == "threshold" && !IsUpwardCrossing(out peak)) continue;
            if (fired.Source is "pressure" or "events")
            {
                if (now - _lastKernelWarning < KernelWarningSpacing) continue;
                _lastKernelWarning = now;
            }
            Warn(Math.Max(peak, _info.LastFootprintBytes ?? 0), fired.Source);
        }
    }

    /// <summary>
    /// A v1 usage threshold fires when usage crosses it either way. The group's peak usage, reset
    /// whenever the warning is re-armed, tells the two apart: above the threshold, usage went up
    /// through it since. (A fresh reading cannot: a program killed just after crossing upwards
    /// has already given its memory back, and a notification may be heard late.)
    /// </summary>
    private bool IsUpwardCrossing(out long peak)
    {
        peak = 0;
        if (!_warningArmed) return false;
        if (_memory.OwnGroup?.Group is not { Version: CgroupVersion.V1 } group || group.ReadPeak() is not { } highest) return true;
        peak = highest;
        return highest >= _options.WarnAt * (_info.Limit?.Bytes ?? 0);
    }

    private void Sample()
    {
        var now = DateTime.UtcNow;
        Kernel.Poll();
        var footprint = _memory.ReadFootprint();
        if (footprint is not null)
        {
            _info.LastFootprintBytes = footprint.Bytes;
            _info.LastFootprintTime = footprint.TimeMilliseconds;
            Managed?.Footprint(footprint.Bytes);
            var newPeak = footprint.Bytes > (_info.PeakFootprintBytes ?? 0);
            if (newPeak) _info.PeakFootprintBytes = footprint.Bytes;
            if (newPeak || now - _lastLogged >= FootprintLog.Interval)
            {
                _footprints.Append(new FootprintRecord(footprint.TimeMilliseconds, footprint.Bytes));
                _lastLogged = now;
            }
            CheckLimit(footprint.Bytes);
        }
        HearKernelWarnings(now);
        while (_outOfMemory.TryDequeue(out var thrown))
        {
            // The runtime's own frames (its allocation and throw helpers) have no method name: the program's methods say where.
            var named = thrown.Frames.Where(frame => !frame.StartsWith("0x", StringComparison.Ordinal)).Take(4).ToList();
            var stack = named.Count == 0 ? "" : " in " + string.Join(" ← ", named);
            Warn(_info.LastFootprintBytes ?? 0, DotnetOutOfMemory.Mechanism, thrown.Type + stack);
            SnapshotNow?.Invoke();
        }
        CheckWatchdog(now);
        if (now - _lastSlowChecks >= SlowChecksEvery)
        {
            _lastSlowChecks = now;
            CheckDebugger();
            // oom_score grows with the footprint: the last reading is the kernel's view just before the end.
            if (_memory.ReadOomScore() is { } score) (_info.OomScore, _info.OomScoreAdj) = (score.Score, score.Adjust);
        }
    }

    private void CheckLimit(long footprint)
    {
        var limit = _info.Limit?.Bytes ?? 0;
        if (limit <= 0) return;
        if (_whyFoomEnforcesTheLimit is not null && _options.LimitBytes is { } own && footprint > own && FoomKill is null)
        {
            // No cgroup could do it: Foom plays Jetsam and kills at the limit itself.
            FoomKill = FoomKill.AtLimit(footprint, own, _whyFoomEnforcesTheLimit);
            _target.Signal(9);
            return;
        }
        var threshold = _options.WarnAt * limit;
        if (_warningArmed && footprint >= threshold) Warn(footprint, "threshold");
        else if (!_warningArmed && footprint < (_options.WarnAt - WarningHysteresis) * limit)
        {
            _warningArmed = true;
            // From here the group's peak says whether a threshold notification is a crossing up;
            // the high-water mark so far goes into the session's peak first, as it would at the end.
            if (_memory.OwnGroup?.Group is { Version: CgroupVersion.V1 } group)
            {
                if (group.ReadPeak() is { } peak && peak > (_info.PeakFootprintBytes ?? 0)) _info.PeakFootprintBytes = peak;
                CgroupFiles.Write(group.File("memory.max_usage_in_bytes"), "0");
            }
        }
    }

    private void Warn(long footprint, string source, string? detail = null)
    {
        if (source == "threshold") _warningArmed = false;
        var limit = _info.Limit?.Bytes;
        _info.Warnings.Add(new MemoryWarning
        {
            Time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            FootprintBytes = footprint,
            LimitBytes = limit,
            Source = source,
            Detail = detail,
        });
        SessionInfoFile.Write(_sessionDirectory, _info);
        _ring.RaiseWarning((ulong)Math.Max(0, footprint), (ulong)Math.Max(0, limit ?? 0));
        // A warning is when a census explains the most: the managed heap is counted now.
        Managed?.Warning(source);
        if (_options.WarnSignal is { } signal) _target.Signal(signal);
        // Returns at once: a snapshot, when asked for, is built on the report thread.
        _memoryWarned();
    }

    private void CheckWatchdog(DateTime now)
    {
        if (_options.Watchdog is not { } allowed || FoomKill is not null) return;
        var marks = _ring.ReadMarks();
        // A program that never calls foom_heartbeat() has no watchdog; one in the background
        // or suspended is not expected to beat (iOS's watchdog watches the foreground only).
        if (marks.Heartbeat is not { } last) return;
        if (marks.State is AppState.Background or AppState.Suspended) return;
        var stalled = new DateTimeOffset(now) - last;
        if (stalled <= allowed) return;
        FoomKill = FoomKill.ByWatchdog(stalled, allowed.TotalSeconds);
        _target.Signal(9);
    }

    private void CheckDebugger()
    {
        if (DebuggerSeen) return;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_target.Pid}/status"))
            {
                if (!line.StartsWith("TracerPid:", StringComparison.Ordinal)) continue;
                if (int.TryParse(line.AsSpan(10).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var tracer) && tracer != 0)
                {
                    DebuggerSeen = true;
                    _info.DebuggerSeen = true;
                    SessionInfoFile.Write(_sessionDirectory, _info);
                }
                return;
            }
        }
        catch (IOException)
        {
            // The target is gone: nothing to check.
        }
    }
}
