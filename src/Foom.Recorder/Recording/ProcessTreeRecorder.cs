using System.Globalization;
using Foom.Recorder.Launch;
using Foom.Recorder.Limits;
using Foom.Ring;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Recording;

/// <summary>
/// Records the run's other processes (docs/architecture.md, "The process tree"): keeps the pool
/// of spare rings full, starts a <see cref="ProcessRecording"/> for each ring a process claims,
/// finishes it when the process is gone, reads every process's resident bytes for its share of the
/// group's footprint, and looks for processes of the run that never claimed a ring, to say why
/// they were not recorded. All of it on one thread of its own, beside the program's drain.
/// </summary>
internal sealed class ProcessTreeRecorder : IDisposable
{
    /// <summary>
    /// Rings kept ready. A ring is made in a few milliseconds (8 MiB touched), so four cover a
    /// shell pipeline or make -j2 starting its jobs at once while the next are made; a process
    /// that finds none is counted by the hook and named in the report.
    /// </summary>
    public const int Spares = 4;

    private static readonly TimeSpan ClaimPoll = TimeSpan.FromMilliseconds(2);
    private const long SampleEveryMs = 50;

    private readonly RingPool _pool;
    private readonly string _runDirectory;
    private readonly SessionInfo _run;
    private readonly KernelOomWatch _kernel;
    private readonly MemoryCgroup? _group;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private readonly List<(int Index, EventRing Ring)> _unattached = [];
    private readonly List<ProcessRecording> _active = [];
    private readonly List<ProcessRecording> _finished = [];
    private readonly List<Task> _finishing = [];
    private readonly Dictionary<int, ProcessSighting> _seen = [];
    private int _programPid;
    private long _lastSample;

    public ProcessTreeRecorder(EventRing run, string runDirectory, SessionInfo runInfo, KernelOomWatch kernel, MemoryCgroup? group)
    {
        _pool = new RingPool(run, Spares, EventRing.DefaultDataSize);
        _runDirectory = runDirectory;
        _run = runInfo;
        _kernel = kernel;
        _group = group;
        _thread = new Thread(Run) { IsBackground = true, Name = "foom process tree" };
    }

    /// <summary>Why the pool stopped being replenished, when it did (the disk refused a ring file).</summary>
    public string? Problem { get; private set; }

    /// <summary>The program's resident bytes at the last reading, and when.</summary>
    public (long Bytes, long Time)? ProgramRss { get; private set; }

    /// <summary>Makes the first spares, before the program starts (its first child must find one).</summary>
    public void Prepare() => Replenish();

    public void Start(int programPid)
    {
        _programPid = programPid;
        _thread.Start();
    }

    /// <summary>The pids of the processes recorded so far (a finished list once <see cref="StopAsync"/> returned).</summary>
    public IReadOnlyList<int> RecordedPids => [.. _finished.Select(r => r.Pid)];

    /// <summary>
    /// After the program ended: finishes every recording (processes still running are recorded up
    /// to now), deletes the spare rings, and returns the run's other processes for session.json.
    /// </summary>
    public async Task<List<ProcessEntry>> StopAsync()
    {
        _stop.Set();
        if (_thread.IsAlive) _thread.Join();
        // A last look: processes that claimed a ring since the thread's last pass.
        TakeClaims();
        foreach (var recording in _active)
        {
            _finishing.Add(recording.FinishAsync(_kernel, stillRunning: !recording.Ended()));
            _finished.Add(recording);
        }
        _active.Clear();
        try
        {
            await Task.WhenAll(_finishing).ConfigureAwait(false);
        }
        catch (Exception unexpected)
        {
            // A drain that failed (it says so itself) or a session that could not be written: the
            // run's own end is still written.
            Problem ??= $"the end of a process of the run could not be written: {unexpected.GetType().Name}: {unexpected.Message}";
        }
        foreach (var (_, ring) in _unattached)
        {
            var path = ring.Path;
            ring.Dispose();
            File.Delete(path);
        }
        _unattached.Clear();
        _pool.Dispose();
        return Entries();
    }

    /// <summary>Processes that found no spare ring (the hook's count).</summary>
    public int PoolExhausted => _pool.Exhausted;

    /// <summary>The session of a recorded process, relative to the run's ("processes/PID"); null when it was not recorded.</summary>
    public string? SessionOf(int pid) => _finished.LastOrDefault(r => r.Pid == pid)?.RelativeDirectory;

    private void Run()
    {
        try
        {
            while (!_stop.Wait(ClaimPoll))
            {
                Replenish();
                TakeClaims();
                var now = Environment.TickCount64;
                if (now - _lastSample < SampleEveryMs) continue;
                _lastSample = now;
                Sample();
            }
        }
        catch (Exception unexpected)
        {
            // Never takes `foom run` (and the program's recording) down: what was recorded stays,
            // and the report says from when the other processes were not followed.
            Problem ??= $"following the run's other processes stopped: {unexpected.GetType().Name}: {unexpected.Message}";
        }
    }

    private void Replenish()
    {
        if (Problem is not null) return;
        try
        {
            _pool.Replenish();
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            Problem = $"no more spare rings for the run's processes could be made in {_pool.Directory}: {problem.Message}";
        }
    }

    /// <summary>Claimed rings whose process has attached start recording; a claim whose process died before attaching is let go.</summary>
    private void TakeClaims()
    {
        _unattached.AddRange(_pool.TakeClaimed());
        for (var i = _unattached.Count - 1; i >= 0; i--)
        {
            var (index, ring) = _unattached[i];
            var pid = Volatile.Read(ref ring.Header.TargetPid);
            if (pid == 0)
            {
                var claimer = _pool.PidOf(index);
                if (claimer == 0 || ProcessStat.Read(claimer) is { IsZombie: false }) continue;
                // It claimed the index and died before it attached: nothing to record.
                _unattached.RemoveAt(i);
                var path = ring.Path;
                ring.Dispose();
                File.Delete(path);
                continue;
            }
            _unattached.RemoveAt(i);
            try
            {
                _active.Add(ProcessRecording.Start(ring, _runDirectory, _run, pid));
            }
            catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
            {
                Problem ??= $"the session of pid {pid} could not be made: {problem.Message}";
                ring.Dispose();
            }
        }
    }

    private void Sample()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (ResidentBytes(_programPid) is { } programRss) ProgramRss = (programRss, now);
        for (var i = _active.Count - 1; i >= 0; i--)
        {
            var recording = _active[i];
            if (recording.Ended())
            {
                _active.RemoveAt(i);
                _finished.Add(recording);
                _finishing.Add(recording.FinishAsync(_kernel, stillRunning: false));
                continue;
            }
            if (ResidentBytes(recording.Pid) is { } rss) recording.LastRss = (rss, now);
            recording.Sighting ??= new ProcessSighting(recording.Pid, recording.Info.ParentPid ?? 0, now);
            recording.Sighting.Look(now, recording: true);
        }
        foreach (var pid in Descendants())
        {
            if (pid == _programPid || _active.Any(r => r.Pid == pid)) continue;
            if (!_seen.TryGetValue(pid, out var sighting))
            {
                if (ProcessStat.Read(pid) is not { } stat) continue;
                sighting = new ProcessSighting(pid, stat.ParentPid, now);
                _seen[pid] = sighting;
            }
            sighting.Look(now);
        }
    }

    /// <summary>The run's processes besides the program: its memory cgroup's, else the program's descendants in /proc.</summary>
    private IEnumerable<int> Descendants()
    {
        if (_group is not null)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(_group.ProcsFile);
            }
            catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
            {
                yield break;
            }
            foreach (var line in lines)
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) yield return pid;
            yield break;
        }
        var parents = new Dictionary<int, int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (ProcessStat.Read(pid) is { } stat) parents[pid] = stat.ParentPid;
        }
        var inRun = new HashSet<int> { _programPid };
        bool grew;
        do
        {
            grew = false;
            foreach (var (pid, parent) in parents)
                if (inRun.Contains(parent) && inRun.Add(pid)) grew = true;
        } while (grew);
        foreach (var pid in inRun) yield return pid;
    }

    private List<ProcessEntry> Entries()
    {
        var entries = new List<ProcessEntry>();
        foreach (var recording in _finished.OrderBy(r => r.Info.StartTime))
        {
            var info = recording.Info;
            entries.Add(new ProcessEntry
            {
                Pid = info.Pid,
                ParentPid = info.ParentPid ?? 0,
                Command = info.Command,
                Session = recording.RelativeDirectory,
                NotRecorded = recording.Sighting?.WhyNotRecorded is { } why
                    ? $"recorded until it exec'd {string.Join(' ', recording.Sighting.Command.Take(3))}, which was not: {why}"
                    : null,
                StartTime = info.StartTime,
                EndTime = info.End?.EndTime,
                ExitReason = info.End?.ExitReason,
                RssBytes = recording.LastRss?.Bytes,
                RssTime = recording.LastRss?.Time,
                LiveBytes = recording.LiveBytes,
            });
        }
        var recorded = _finished.Select(r => r.Pid).ToHashSet();
        foreach (var sighting in _seen.Values.Where(s => !recorded.Contains(s.Pid)).OrderBy(s => s.FirstSeen))
        {
            entries.Add(new ProcessEntry
            {
                Pid = sighting.Pid,
                ParentPid = sighting.ParentPid,
                Command = sighting.Command,
                NotRecorded = sighting.WhyNotRecorded ?? (_pool.Exhausted > 0
                    ? $"no spare ring was ready when it started ({_pool.Exhausted} processes of the run found none), or it never loaded the hook"
                    : "it never loaded the hook (no reason could be read from /proc while it ran)"),
                StartTime = sighting.FirstSeen,
                EndTime = sighting.LastSeen,
                RssBytes = sighting.LastRss,
                RssTime = sighting.LastRss is null ? null : sighting.LastSeen,
            });
        }
        return entries;
    }

    /// <summary>
    /// A process's anonymous and shared-memory resident bytes (RssAnon + RssShmem of
    /// /proc/PID/status), what it put into the group itself: file pages (its libraries, the ring
    /// the recorder touched) are left out, as the share of the group's usage at a kill is asked.
    /// Null when it is gone or unreadable.
    /// </summary>
    public static long? ResidentBytes(int pid)
    {
        try
        {
            long? total = null;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("RssAnon:", StringComparison.Ordinal) && !line.StartsWith("RssShmem:", StringComparison.Ordinal)) continue;
                var number = line[(line.IndexOf(':') + 1)..].Trim().Split(' ')[0];
                if (long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var kilobytes)) total = (total ?? 0) + kilobytes * 1024;
            }
            return total;
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The same figure from the kernel's kill line: anon-rss + shmem-rss.</summary>
    public static long ResidentBytes(KernelOomKill kill) => (kill.Killed.AnonRssKilobytes + kill.Killed.ShmemRssKilobytes) * 1024;

    /// <summary>Stops the thread (when <see cref="StopAsync"/> was not reached) and deletes the spare rings.</summary>
    public void Dispose()
    {
        _stop.Set();
        if (_thread.IsAlive) _thread.Join();
        _pool.Dispose();
        _stop.Dispose();
    }
}
