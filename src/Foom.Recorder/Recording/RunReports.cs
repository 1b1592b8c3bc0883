using System.Collections.Concurrent;
using Foom.Recorder.Exits;
using Foom.Report.IO;
using Foom.Recorder.Retention;
using Foom.Upload;
using Foom.Storage;
using Foom.Storage.Sessions;
using Foom.Interop;

namespace Foom.Recorder.Recording;

/// <summary>
/// What `foom run` makes besides the recording (docs/report-format.md, "When foom run makes
/// reports"): the report of a run that ended in a foreground OOM or a watchdog kill, written into
/// its session directory at the death, or at the next launch when the recorder died too (as
/// Matrix reports at the next launch); live snapshots at memory warnings; the app's last N
/// sessions kept; and, with a server, one launch record per start and those reports sent through
/// the on-disk upload queue.
/// Reports are built one at a time on a thread of their own at a lower CPU priority, never on the
/// ring drain's thread, so the drain keeps pace with the program while a snapshot is made.
/// </summary>
internal sealed class RunReports : IDisposable
{
    /// <summary>How long the end of a run waits for the server at most: uploading never holds the program's status longer.</summary>
    public static readonly TimeSpan FinalUploadDeadline = TimeSpan.FromSeconds(3);

    /// <summary>The upload begun at the launch runs beside the program, at most this long (cut short when the program ends).</summary>
    private static readonly TimeSpan LaunchUploadDeadline = TimeSpan.FromMinutes(2);

    /// <summary>Warnings can come every second under pressure; a snapshot is a whole report, so they are spaced.</summary>
    private static readonly TimeSpan SnapshotSpacing = TimeSpan.FromSeconds(5);

    /// <summary>The newest snapshots kept in a session directory: enough to diff two warnings apart.</summary>
    public const int SnapshotsKeptPerSession = 3;

    /// <summary>nice(1) level of the report thread: below the program and the ring drain.</summary>
    private const int ReportThreadNice = 10;

    private readonly RunOptions _options;
    private readonly string _appId;
    private readonly string _sessionDirectory;
    private readonly TextWriter _diagnostics;
    private readonly Uploader? _uploader;

    /// <summary>
    /// The end's flush tries each entry once: the launch's flush already retried while the program
    /// ran, and a server that fails now would rarely answer within the deadline (what fails stays queued).
    /// </summary>
    private readonly Uploader? _finalUploader;
    private readonly BlockingCollection<Action> _jobs = new();
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stopLaunchUpload = new();
    private PreviousRunsResult? _previous;
    private int _launchJudged;
    private int _backgroundStarted;
    private Task _settled = Task.CompletedTask;
    private Task<FlushResult?> _launchUpload = Task.FromResult<FlushResult?>(null);
    private int _snapshotQueued;
    private long _lastSnapshotTicks = long.MinValue;
    private volatile bool _finishing;

    public RunReports(RunOptions options, string appId, string sessionDirectory, TextWriter diagnostics)
    {
        _options = options;
        _appId = appId;
        _sessionDirectory = Path.GetFullPath(sessionDirectory);
        _diagnostics = diagnostics;
        if (options.Upload is { } upload)
        {
            var queue = UploadQueue.In(options.Data);
            var uploaderOptions = new UploaderOptions { Server = upload.Server, IngestKey = upload.IngestKey };
            _uploader = new Uploader(queue, uploaderOptions);
            _finalUploader = new Uploader(queue, uploaderOptions with { MaxAttempts = 1 });
        }
        _thread = new Thread(Work) { IsBackground = true, Name = "foom reports" };
    }

    /// <summary>
    /// Once the app's earlier runs are judged (beside the program's start: judging reads every
    /// earlier session.json, some 60 ms the program need not wait for): says what could not be
    /// read, and queues the launch record with how the previous run ended. Only the first call counts.
    /// </summary>
    public void LaunchJudged(PreviousRunsResult previous, LaunchContext launch)
    {
        if (Interlocked.Exchange(ref _launchJudged, 1) == 1) return;
        _previous = previous;
        foreach (var problem in previous.Problems) _diagnostics.WriteLine($"foom run: {problem}");
        if (_uploader is not null) QueueLaunchRecord(launch);
    }

    /// <summary>
    /// Once the program runs and is watched: on the report thread, makes the reports of earlier
    /// runs judged at this launch, applies --keep, then sends the queue while the program runs.
    /// Not sooner, so that this work never delays the program's start or the watching of it
    /// (a program can die within milliseconds of starting).
    /// </summary>
    public void ProgramWatched()
    {
        if (Interlocked.Exchange(ref _backgroundStarted, 1) == 1) return;
        _thread.Start();
        var previous = _previous ?? throw new InvalidOperationException("the launch is watched before its earlier runs were judged");
        _settled = OnReportThread(() => SettleEarlierRuns(previous));
        if (_uploader is not null)
            _launchUpload = _settled.ContinueWith(_ => UploadAsync(_uploader, LaunchUploadDeadline, _stopLaunchUpload.Token),
                CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
    }

    /// <summary>
    /// Called at each memory warning (on the monitor's loop): queues a live snapshot when
    /// --snapshot-at-warning asks, unless one is already waiting or the last began moments ago.
    /// Returns at once.
    /// </summary>
    public void MemoryWarned() => MemoryWarned(always: false);

    /// <param name="always">Snapshot even without --snapshot-at-warning (an OutOfMemoryException the program survived).</param>
    public void MemoryWarned(bool always)
    {
        if (!(_options.SnapshotAtWarning || always) || _finishing) return;
        var now = Environment.TickCount64;
        if (_lastSnapshotTicks != long.MinValue && now - _lastSnapshotTicks < (long)SnapshotSpacing.TotalMilliseconds) return;
        if (Interlocked.Exchange(ref _snapshotQueued, 1) == 1) return;
        _lastSnapshotTicks = now;
        _ = OnReportThread(() =>
        {
            try
            {
                // The program ended meanwhile: the report of its end says more than a snapshot would.
                if (!_finishing) TakeSnapshot();
            }
            finally
            {
                Volatile.Write(ref _snapshotQueued, 0);
            }
        });
    }

    /// <summary>
    /// At the end of the run (the session's tables closed): makes this run's report when it ended
    /// in a foreground OOM or a watchdog kill, and sends what is queued within
    /// <see cref="FinalUploadDeadline"/>. Returns the report's path, if one was made.
    /// </summary>
    public async Task<string?> FinishAsync(SessionInfo? info)
    {
        _finishing = true;
        // A program that could not be started still settles the earlier runs and sends the queue.
        ProgramWatched();
        await _settled.ConfigureAwait(false);
        string? reportPath = null;
        if (info?.End is { } end && IsReported(end))
            await OnReportThread(() => reportPath = MakeReport(_sessionDirectory, info, "this run")).ConfigureAwait(false);
        if (_uploader is null) return reportPath;

        // The upload begun at the launch may be waiting out a backoff: it stops, and one last
        // flush, bounded, sends what it can; whatever remains stays queued for later.
        await _stopLaunchUpload.CancelAsync().ConfigureAwait(false);
        var atLaunch = await _launchUpload.ConfigureAwait(false);
        var atEnd = await UploadAsync(_finalUploader!, FinalUploadDeadline, CancellationToken.None).ConfigureAwait(false);
        if (atEnd is not null) Say(UploadSummary(atLaunch, atEnd, _uploader.Queue.Directory));
        return reportPath;
    }

    /// <summary>Whether a run that ended so gets a report without being asked: the deaths WeChat's monitor reports (FOOM and watchdog).</summary>
    public static bool IsReported(SessionEnd end) =>
        end.ExitReason == ExitReason.ForegroundOom.Name() || end.ExitReason == ExitReason.Watchdog.Name();

    private void SettleEarlierRuns(PreviousRunsResult previous)
    {
        // Runs judged now are reported before --keep may remove them: their report still reaches the upload queue.
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var judged in previous.Judged)
        {
            // Their recorders died: the events they left in the ring go into the tables first, for
            // this report and any later one.
            ApplyLeftovers(judged.Directory);
            if (judged.Info.End is not { } end || !IsReported(end)) continue;
            reported.Add(Path.GetFullPath(judged.Directory));
            MakeReport(judged.Directory, judged.Info, "the previous run");
        }

        var retention = ReportRetention.Apply(_options.Data, _appId, _options.Keep,
            (directory, info) => Path.GetFullPath(directory) == _sessionDirectory || SessionLiveness.IsBeingRecorded(directory, info));
        foreach (var problem in retention.Problems) Say($"--keep {_options.Keep}: {problem}");

        // A run that ended in an OOM or a watchdog kill whose recorder was killed before it made the
        // report (a global OOM takes both) gets it now, once: a failure is written down, not retried.
        foreach (var session in SessionDirectories.List(_options.Data, _appId))
        {
            var directory = Path.GetFullPath(session.Directory);
            if (directory == _sessionDirectory || reported.Contains(directory)) continue;
            if (session.Info.End is not { } end || !IsReported(end)) continue;
            if (File.Exists(Path.Combine(directory, SessionDirectories.ReportFileName))
                || File.Exists(Path.Combine(directory, SessionDirectories.ReportProblemFileName))) continue;
            if (SessionReader.WriterIsRunning(directory) || SessionLiveness.RecorderAlive(session.Info)) continue;
            ApplyLeftovers(directory);
            MakeReport(directory, session.Info, "an earlier run");
        }
    }

    /// <summary>Applies the events a dead recorder left in its session's ring (<see cref="RingLeftovers"/>); a failure is said, and the report is made of what the tables hold.</summary>
    private void ApplyLeftovers(string directory)
    {
        if (RingLeftovers.Apply(directory, Path.GetFileName(_sessionDirectory))?.Problem is { } problem)
            Say($"the events left in the ring of {directory}: {problem}");
    }

    /// <summary>Builds and saves the report of a finished session as its report.json and queues it; null when it could not be made (said on the diagnostics, and written down in the session).</summary>
    private string? MakeReport(string directory, SessionInfo info, string whose)
    {
        var path = Path.Combine(directory, SessionDirectories.ReportFileName);
        try
        {
            var report = SessionReport.Build(directory);
            ReportWriter.Save(report, path);
            // This run's report is named in `foom run`'s last line.
            if (directory != _sessionDirectory) Say($"report of {whose} ({info.End?.ExitReason}, {info.End?.How}): {path}");
            Queue(report);
            return path;
        }
        catch (Exception problem) when (problem is ReportFormatException or IOException or UnauthorizedAccessException)
        {
            Say($"the report of {whose} ({info.SessionId}) could not be made: {problem.Message}");
            try
            {
                File.WriteAllText(Path.Combine(directory, SessionDirectories.ReportProblemFileName), problem.Message + "\n");
            }
            catch (Exception unwritable) when (unwritable is IOException or UnauthorizedAccessException)
            {
                // The session cannot be written either: the next launch tries again.
            }
            return null;
        }
    }

    private void TakeSnapshot()
    {
        try
        {
            var report = SessionReport.Build(_sessionDirectory);
            // Read after the recorder closed its tables: not a snapshot but the end, which the end's report covers.
            if (!report.Head.LiveSnapshot) return;
            var path = SessionDirectories.SnapshotPath(_sessionDirectory, report.Head.ReportTime ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            ReportWriter.Save(report, path);
            Say($"live snapshot at a memory warning: {path}");
            foreach (var old in new DirectoryInfo(_sessionDirectory).EnumerateFiles(SessionDirectories.SnapshotPrefix + "*.json")
                         .OrderByDescending(file => file.Name, StringComparer.Ordinal).Skip(SnapshotsKeptPerSession))
                old.Delete();
        }
        catch (Exception problem) when (problem is ReportFormatException or IOException or UnauthorizedAccessException)
        {
            Say($"no live snapshot at this warning: {problem.Message}");
        }
    }

    private void QueueLaunchRecord(LaunchContext launch)
    {
        var previous = _previous!;
        var record = new LaunchRecord
        {
            LaunchId = launch.SessionId!,
            AppId = _appId,
            AppVersion = _options.AppVersion,
            UserId = _options.UserId,
            DeviceId = MachineFacts.DeviceId(),
            Phone = Environment.MachineName,
            OsVersion = launch.KernelRelease,
            LaunchTime = launch.TimeMilliseconds,
            // Null when every earlier run of the app is still going: this launch follows no known end.
            PrevExitReason = (previous.PreviousRun?.Reason ?? ExitReason.Unknown).Name(),
            PrevExitHow = previous.PreviousRun?.How.Name(),
        };
        try
        {
            if (_uploader!.EnqueueLaunch(record).Dropped is { Count: > 0 } dropped) Say($"upload: {_uploader.Queue.DroppedStatement(dropped)}");
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            Say($"upload: the launch record could not be queued in {_uploader!.Queue.Directory}: {problem.Message}");
        }
    }

    /// <summary>Queues an automatic report for the server; the server's sampling policy decides whether it is sent.</summary>
    private void Queue(Report.Model.Report report)
    {
        if (_uploader is null) return;
        try
        {
            if (_uploader.EnqueueReport(report, sampled: true).Dropped is { Count: > 0 } dropped) Say($"upload: {_uploader.Queue.DroppedStatement(dropped)}");
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Say($"upload: the report {report.Head.ReportId} could not be queued in {_uploader.Queue.Directory}: {problem.Message}");
        }
    }

    /// <summary>One flush of the queue; null when it was stopped (the program ended) or the queue could not be read.</summary>
    private async Task<FlushResult?> UploadAsync(Uploader uploader, TimeSpan deadline, CancellationToken stop)
    {
        try
        {
            return await uploader.FlushAsync(deadline, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            Say($"upload: the queue in {uploader.Queue.Directory} could not be read: {problem.Message}");
            return null;
        }
    }

    /// <summary>One line for both flushes of the run; what remains and why is the last flush's.</summary>
    private static string UploadSummary(FlushResult? atLaunch, FlushResult atEnd, string queue)
    {
        var duplicates = (atLaunch?.Duplicates ?? 0) + atEnd.Duplicates;
        var notSampled = (atLaunch?.NotSampled ?? 0) + atEnd.NotSampled;
        var failed = (atLaunch?.Failed ?? []).Concat(atEnd.Failed).ToList();
        var summary = $"upload: {(atLaunch?.Sent ?? 0) + atEnd.Sent} sent";
        if (duplicates > 0) summary += $", {duplicates} already on the server";
        if (notSampled > 0) summary += $", {notSampled} not sampled by the server's policy";
        if (failed.Count > 0) summary += $", {failed.Count} refused ({string.Join("; ", failed)})";
        if (atEnd.Remaining > 0) summary += $", {atEnd.Remaining} kept in {queue} for the next run or `foom upload`";
        if (atEnd.StoppedBecause is { } why) summary += $" ({why})";
        return summary;
    }

    private void Say(string line) => _diagnostics.WriteLine($"foom: {line}");

    /// <summary>Runs <paramref name="job"/> on the report thread, after the jobs before it.</summary>
    private Task OnReportThread(Action job)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _jobs.Add(() =>
        {
            try
            {
                job();
                done.SetResult();
            }
            catch (Exception unexpected)
            {
                // A fault in making a report must not end `foom run` before it returns the program's status.
                Say($"making reports failed: {unexpected}");
                done.SetResult();
            }
        });
        return done.Task;
    }

    private void Work()
    {
        // Best effort: without it reports are still made, only at the program's priority.
        _ = Threads.setpriority(Threads.PRIO_PROCESS, Threads.gettid(), ReportThreadNice);
        foreach (var job in _jobs.GetConsumingEnumerable()) job();
    }

    public void Dispose()
    {
        _stopLaunchUpload.Cancel();
        _jobs.CompleteAdding();
        // After FinishAsync only skipped snapshots can be queued; after a failure, a report being
        // built is left to finish on its own (its file is written whole or not at all).
        if (_backgroundStarted == 0 || _thread.Join(TimeSpan.FromSeconds(5))) _jobs.Dispose();
        _uploader?.Dispose();
        _finalUploader?.Dispose();
        _stopLaunchUpload.Dispose();
    }
}
