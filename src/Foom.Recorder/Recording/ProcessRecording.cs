using System.Text;
using Foom.Recorder.Exits;
using Foom.Recorder.Launch;
using Foom.Recorder.Limits;
using Foom.Ring;
using Foom.Storage;
using Foom.Storage.Sessions;

namespace Foom.Recorder.Recording;

/// <summary>
/// The recording of one process of a run besides the program: the spare ring it claimed, drained
/// into a session of its own under the run's session (<c>processes/PID</c>: its own tables, live
/// set and session.json linked to the run), the same drain and applier as the program's, so an
/// event costs the same. It ends when the process is gone: what is left in the ring is applied,
/// the end is written (the kernel's kill line when the OOM killer took it, else the hook's exit
/// mark), and the ring file is deleted.
/// </summary>
internal sealed class ProcessRecording
{
    /// <summary>The folder of the run's session that holds the sessions of its other processes.</summary>
    public const string DirectoryName = "processes";

    private static readonly TimeSpan KernelLineGrace = TimeSpan.FromMilliseconds(500);

    private readonly EventRing _ring;
    private readonly SessionTables _tables;
    private readonly RingDrain _drain;
    private readonly long _startTicks;

    private ProcessRecording(EventRing ring, SessionTables tables, RingDrain drain, SessionInfo info, string directory, string relative, long startTicks)
    {
        _ring = ring;
        _tables = tables;
        _drain = drain;
        Info = info;
        Directory = directory;
        RelativeDirectory = relative;
        _startTicks = startTicks;
    }

    public SessionInfo Info { get; }

    public string Directory { get; }

    /// <summary>"processes/PID", as the run's session.json names it.</summary>
    public string RelativeDirectory { get; }

    public int Pid => Info.Pid;

    /// <summary>Anonymous and shared-memory resident bytes at the last reading (<see cref="ProcessTreeRecorder.ResidentBytes(int)"/>), and when.</summary>
    public (long Bytes, long Time)? LastRss { get; set; }

    /// <summary>What /proc said of its images while it ran: an exec into a program the hook cannot load into (environment cleared, static, setuid) ends its recording early.</summary>
    public ProcessSighting? Sighting { get; set; }

    /// <summary>Recorded live bytes once it ended.</summary>
    public long? LiveBytes { get; private set; }

    /// <summary>Starts draining a claimed ring that its process has attached to.</summary>
    public static ProcessRecording Start(EventRing ring, string runDirectory, SessionInfo run, int pid)
    {
        var relative = DirectoryName + "/" + pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var directory = Path.Combine(runDirectory, relative);
        // A pid the kernel gave again to a later process of the same run: that one's session is beside.
        for (var again = 2; System.IO.Directory.Exists(directory); again++)
        {
            relative = $"{DirectoryName}/{pid}-{again}";
            directory = Path.Combine(runDirectory, relative);
        }
        System.IO.Directory.CreateDirectory(directory);
        ref var header = ref ring.Header;
        var info = new SessionInfo
        {
            SessionId = run.SessionId + "." + Path.GetFileName(directory),
            AppId = run.AppId,
            AppVersion = run.AppVersion,
            UserId = run.UserId,
            RecorderPid = Environment.ProcessId,
            Pid = pid,
            ParentSessionId = run.SessionId,
            ParentPid = Volatile.Read(ref header.ParentPid),
            Command = CommandLine(ring),
            StartTime = (long)Volatile.Read(ref header.AttachMs) is > 0 and var attached ? attached : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Host = run.Host,
            DeviceId = run.DeviceId,
            BootId = run.BootId,
            KernelRelease = run.KernelRelease,
            OsVersion = run.OsVersion,
            Limit = run.Limit,
        };
        info.MainBinary = info.Command.FirstOrDefault();
        SessionInfoFile.Write(directory, info, durable: false);
        var tables = SessionTables.Create(directory);
        var drain = new RingDrain(ring, new EventApplier(tables));
        drain.Start();
        return new ProcessRecording(ring, tables, drain, info, directory, relative, ProcessStat.Read(pid)?.StartTicks ?? -1);
    }

    /// <summary>Whether the process is gone (or a zombie), or its pid now belongs to another process.</summary>
    public bool Ended()
    {
        var stat = ProcessStat.Read(Pid);
        return stat is null || stat.Value.IsZombie || _startTicks >= 0 && stat.Value.StartTicks != _startTicks;
    }

    /// <summary>
    /// Applies what is left in its ring, writes its end into its session.json, closes its tables and
    /// deletes its ring file. <paramref name="stillRunning"/>: the run ended first.
    /// </summary>
    public async Task FinishAsync(KernelOomWatch kernel, bool stillRunning)
    {
        // A process still running goes on unrecorded: the hook stops publishing (and never waits
        // for room in a ring nobody drains), and counts what it no longer records.
        if (stillRunning) _ring.RequestStop();
        await _drain.StopAfterTargetEnded().ConfigureAwait(false);
        var marks = AppMarks.FromRing(_ring.ReadMarks());
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var evidence = new List<string>();
        ExitReason reason;
        int? status = null, signal = null;
        // No exit mark: killed by a signal (the OOM killer's line comes after its SIGKILL), or the
        // run ended first.
        var kill = marks.Exit is null && !stillRunning ? kernel.WaitForKill(Pid, KernelLineGrace) : kernel.FindKill(Pid);
        if (kill is not null)
        {
            reason = ExitReason.ForegroundOom;
            evidence.AddRange(kill.Evidence());
            signal = 9;
            status = 128 + 9;
            LastRss = (ProcessTreeRecorder.ResidentBytes(kill), now);
            Info.LastFootprintBytes = LastRss.Value.Bytes;
        }
        else if (marks.Exit is { } exit)
        {
            reason = ExitReason.Exit;
            status = exit.Status;
            evidence.Add($"the hook saw {exit.How}" + (exit.Status is { } code ? $" with status {code}" : ""));
        }
        else
        {
            reason = ExitReason.Unknown;
            evidence.Add(stillRunning
                ? "still running when the run ended: recorded until then"
                : "ended without an exit mark and without an OOM kill line: killed by a signal, or it exec'd a program the hook could not load into");
        }
        if (LastRss is { } rss) Info.LastFootprintBytes ??= rss.Bytes;
        var counters = _ring.ReadCounters();
        Info.DroppedEvents = (long)counters.DroppedEvents;
        var notes = new List<string>();
        if (_drain.Failure is { } failure) notes.Add(failure);
        if (_drain.AbandonedBytes > 0) notes.Add($"{_drain.AbandonedBytes} bytes of events were reserved but never committed when the process died");
        Info.RecordingNotes = notes.Count == 0 ? null : notes;
        Info.End = new ExitVerdict(reason, ExitHow.Observed, evidence).ToEnd(now, status, signal);
        LiveBytes = _tables.Live.HeapBytes + _tables.Live.MappingBytes;
        SessionInfoFile.Write(Directory, Info);
        _tables.Dispose();
        var path = _ring.Path;
        _ring.Dispose();
        File.Delete(path);
    }

    /// <summary>The process's command line as the hook copied it into its ring's header (NUL-separated, maybe truncated).</summary>
    private static unsafe List<string> CommandLine(EventRing ring)
    {
        ref var header = ref ring.Header;
        var length = (int)Math.Min(Volatile.Read(ref header.CommandLineLength), (uint)RingLayout.CommandLineSize);
        fixed (byte* bytes = header.CommandLine)
        {
            var text = Encoding.UTF8.GetString(bytes, length);
            return [.. text.Split('\0', StringSplitOptions.RemoveEmptyEntries)];
        }
    }
}
