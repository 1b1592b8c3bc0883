using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Foom.Storage.Managed;
using Microsoft.Diagnostics.NETCore.Client;

namespace Foom.Managed;

/// <summary>Knobs of the managed recorder; the defaults are what `foom run` uses.</summary>
public sealed record ManagedRecorderOptions
{
    /// <summary>How long a CoreCLR process may go without a diagnostics socket before the session says why there is no census.</summary>
    public TimeSpan PortGrace { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>A census that has not finished by then is abandoned (the target is hung or dying).</summary>
    public TimeSpan CensusTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the sampled allocations are written to the session while they change.</summary>
    public TimeSpan AllocationsEvery { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Sample with GC AllocationTick even where AllocationSampled exists (how older runtimes are sampled).</summary>
    public bool ForceAllocationTick { get; init; }
}

/// <summary>
/// The managed half of `foom run` for a .NET target (docs/report-format.md, "Managed heap"). It
/// watches the program from the outside for a CoreCLR runtime and its diagnostics port; once
/// connected, it samples allocations with their stacks for the whole run
/// (<see cref="AllocationSampler"/>) and takes heap censuses (<see cref="HeapCensus"/>) when
/// <see cref="CensusPolicy"/> says so. It never blocks its caller: the run monitor hands it the
/// footprint and the warnings, and everything else happens on its own task, one census at a
/// time. What it learns goes into the session directory at once (managed.json,
/// managed-census.json, managed-allocations.json), so the last census before a kill survives it.
/// When the program has a runtime but no usable port, managed.json says why.
/// </summary>
public sealed class ManagedRecorder : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan SlowTick = TimeSpan.FromSeconds(1);
    /// <summary>A program that shows no CoreCLR by then is most likely not .NET: it is looked at less often.</summary>
    private static readonly TimeSpan FastDiscovery = TimeSpan.FromSeconds(10);
    private const int ProblemsKept = 5;

    private readonly int _pid;
    private readonly string _sessionDirectory;
    private readonly long? _limitBytes;
    private readonly TextWriter _diagnostics;
    private readonly ManagedRecorderOptions _options;
    private readonly CensusPolicy _policy = new();
    private readonly ConcurrentQueue<string> _warnings = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ManagedStatus _status = new();
    /// <summary>Type names learned by earlier censuses of this process (see <see cref="HeapCensus.Take"/>).</summary>
    private readonly Dictionary<ulong, string> _typeNames = new();
    private long _footprint;
    private bool _statusWritten;
    private bool _haveCompleteCensus;
    private Task _loop = Task.CompletedTask;
    /// <summary>The program's diagnostics socket, once connected: a runtime killed by a signal cannot remove it, so Foom does.</summary>
    private string? _socket;
    private AllocationSampler? _sampler;
    private int _writtenGeneration = -1;

    private ManagedRecorder(int pid, string sessionDirectory, long? limitBytes, TextWriter diagnostics, ManagedRecorderOptions options)
    {
        _pid = pid;
        _sessionDirectory = sessionDirectory;
        _limitBytes = limitBytes is > 0 ? limitBytes : null;
        _diagnostics = diagnostics;
        _options = options;
    }

    /// <summary>Starts watching <paramref name="pid"/>; a program that never shows a .NET runtime leaves no managed files.</summary>
    public static ManagedRecorder Start(int pid, string sessionDirectory, long? limitBytes, TextWriter diagnostics, ManagedRecorderOptions? options = null)
    {
        var recorder = new ManagedRecorder(pid, sessionDirectory, limitBytes, diagnostics, options ?? new ManagedRecorderOptions());
        recorder._loop = Task.Run(recorder.RunAsync);
        return recorder;
    }

    /// <summary>The footprint just sampled (called every monitor tick; only stores it).</summary>
    public void Footprint(long bytes) => Interlocked.Exchange(ref _footprint, bytes);

    /// <summary>
    /// Raised on the recorder's own task when the program throws an OutOfMemoryException (caught
    /// or not): the run treats it as a memory warning.
    /// </summary>
    public event Action<ManagedExceptionEvent>? OutOfMemoryThrown;

    /// <summary>A memory warning was raised: a census is due.</summary>
    public void Warning(string source) => _warnings.Enqueue(source);

    /// <summary>After the program ended: finishes what is under way and writes the final files.</summary>
    public async Task StopAsync()
    {
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        var finished = await Task.WhenAny(_loop, Task.Delay(_options.CensusTimeout + TimeSpan.FromSeconds(10))).ConfigureAwait(false) == _loop;
        if (_sampler is { } sampler)
        {
            sampler.Dispose();
            await Task.WhenAny(sampler.Completion, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
            WriteAllocations(force: true);
            // The last events (the fatal OutOfMemoryException, the heap at death) arrive with the session's end.
            if (finished && TakeSamplerFacts()) WriteStatus();
        }
        if (!finished)
        {
            // Its task still owns managed.json: leave it as last written.
            _diagnostics.WriteLine("foom run: the managed recorder did not finish within its timeout after the program ended");
            return;
        }
        if (_statusWritten) WriteStatus();
        RemoveLeftSocket();
    }

    /// <summary>
    /// A runtime that exits removes its socket; one killed (by the OOM killer, most often here)
    /// leaves it in /tmp for good. Its name holds the dead process's start time, so it is nobody
    /// else's.
    /// </summary>
    private void RemoveLeftSocket()
    {
        if (_socket is null || Directory.Exists($"/proc/{_pid}")) return;
        try
        {
            File.Delete(_socket);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            Note($"the program's diagnostics socket {_socket} could not be removed: {problem.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        try
        {
            var client = await DiscoverAsync().ConfigureAwait(false);
            if (client is null) return;
            await WatchAsync(client).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The program ended.
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Note($"the managed recorder stopped: {problem.Message}");
        }
    }

    /// <summary>Waits for a CoreCLR runtime and its diagnostics socket; null when the program ended first.</summary>
    private async Task<DiagnosticsClient?> DiscoverAsync()
    {
        var watching = Stopwatch.StartNew();
        TimeSpan? coreClrSeen = null;
        while (!_stop.IsCancellationRequested)
        {
            var sighting = DotnetProcess.Look(_pid);
            if (sighting is not null)
            {
                if (coreClrSeen is null)
                {
                    // Read while the program lives: its environment and runtimeconfig.json say where the limit comes from.
                    var hardLimit = GcHeapHardLimit.Of(_pid, _limitBytes);
                    _status.GcHeapHardLimitBytes = hardLimit.Bytes;
                    _status.GcHeapHardLimitSource = hardLimit.Source;
                }
                coreClrSeen ??= watching.Elapsed;
                _status.RuntimeVersion ??= sighting.RuntimeVersion?.ToString();
                if (sighting.DiagnosticSocket is { } socket)
                {
                    var client = await ConnectAsync(socket).ConfigureAwait(false);
                    if (client is not null)
                    {
                        _socket = socket;
                        return client;
                    }
                }
                else if (_status.Diagnostics != "unavailable" && WhyNoPortYet(sighting, watching.Elapsed - coreClrSeen.Value) is { } reason)
                {
                    _status.Diagnostics = "unavailable";
                    _status.NoCensus = reason;
                    WriteStatus();
                    _diagnostics.WriteLine($"foom run: no managed heap census: {_status.NoCensus}");
                }
            }
            var wait = coreClrSeen is null && watching.Elapsed < FastDiscovery ? Tick : SlowTick;
            await Task.Delay(wait, _stop.Token).ConfigureAwait(false);
        }
        return null;
    }

    /// <summary>
    /// Why CoreCLR has no diagnostics port: at once when the program's environment turned it off,
    /// after the grace period otherwise (the runtime opens its socket a little after it is mapped).
    /// </summary>
    private string? WhyNoPortYet(DotnetSighting sighting, TimeSpan sinceCoreClr) =>
        // WhyNoPort names a setting that turned the port off first, so the environment is read once.
        sinceCoreClr >= _options.PortGrace ? DotnetProcess.WhyNoPort(_pid, sighting.RuntimeVersion, _options.PortGrace) : DotnetProcess.PortTurnedOff(_pid);

    private async Task<DiagnosticsClient?> ConnectAsync(string socket)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var connector = await DiagnosticsClientConnector.FromDiagnosticPort(socket + ",connect", timeout.Token).ConfigureAwait(false);
            return connector.Instance;
        }
        catch (Exception problem) when (!_stop.IsCancellationRequested && problem is ServerNotAvailableException or IOException or TimeoutException
                                            or ArgumentException or FormatException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // The runtime may not listen yet (its socket file appears first): try again next tick.
            return null;
        }
    }

    private async Task WatchAsync(DiagnosticsClient client)
    {
        var runtime = _status.RuntimeVersion is { } text && Version.TryParse(text, out var parsed) ? parsed : null;
        _status.Diagnostics = "connected";
        _status.NoCensus = null;
        try
        {
            _sampler = AllocationSampler.Start(client, runtime, _options.ForceAllocationTick);
            _status.AllocationSampling = _sampler.Method;
            // The methods compiled before the sampler's session began (it learns the later ones),
            // in a session of its own read to its end.
            _sampler.Rundown = MethodRundown.Take(client, TimeSpan.FromSeconds(30));
        }
        catch (Exception problem) when (problem is ServerErrorException or ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException)
        {
            _status.AllocationSamplingProblem = $"allocations could not be sampled: {problem.Message}";
        }
        WriteStatus();

        var lastAllocationsWrite = Stopwatch.StartNew();
        Stopwatch? samplerEnded = null;
        while (!_stop.IsCancellationRequested)
        {
            while (_warnings.TryDequeue(out var source)) _policy.Warned(source);
            var footprint = Interlocked.Read(ref _footprint);
            if (_policy.Due(DateTime.UtcNow, footprint, _limitBytes) is { } trigger)
                await CensusAsync(client, runtime, trigger, footprint).ConfigureAwait(false);
            if (_sampler is { Completion.IsCompleted: true } ended && _status.AllocationSamplingProblem is null)
            {
                // A session ends with its program; one that ended while the program still ran for
                // seconds after broke, and the report says so.
                samplerEnded ??= Stopwatch.StartNew();
                if (samplerEnded.Elapsed >= TimeSpan.FromSeconds(2))
                {
                    _status.AllocationSamplingProblem = ended.Problem ?? "the allocation-sampling session ended while the program ran";
                    WriteStatus();
                }
            }
            if (TakeSamplerFacts()) WriteStatus();
            if (lastAllocationsWrite.Elapsed >= _options.AllocationsEvery)
            {
                WriteAllocations(force: false);
                lastAllocationsWrite.Restart();
            }
            await Task.Delay(Tick, _stop.Token).ConfigureAwait(false);
        }
    }

    private async Task CensusAsync(DiagnosticsClient client, Version? runtime, string trigger, long footprint)
    {
        var gcHeap = _sampler?.GcHeapBytes;
        if (!_policy.Fits(footprint, _limitBytes, gcHeap))
        {
            var why = _policy.WhyItDoesNotFit(footprint, _limitBytes, gcHeap);
            _policy.Skipped(DateTime.UtcNow, footprint);
            AddProblem($"the census due at {Time(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())} ({trigger}) was skipped: {why}");
            WriteStatus();
            return;
        }
        var request = new CensusRequest(trigger, footprint, _limitBytes, _policy.BufferBytes(footprint, _limitBytes, gcHeap));
        _status.CensusStarted = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        WriteStatus();
        var clock = Stopwatch.StartNew();
        try
        {
            // On a thread of its own: the parse is CPU-bound and must not hold up the thread pool.
            var census = await Task.Factory.StartNew(() => HeapCensus.Take(client, request, runtime, _options.CensusTimeout, _typeNames),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            var complete = census.LostEvents == 0;
            _policy.Taken(DateTime.UtcNow, TimeSpan.FromMilliseconds(census.PauseMilliseconds), clock.Elapsed, footprint, census.Bytes, census.TransferredBytes, complete);
            _status.CensusesTaken++;
            if (complete || !_haveCompleteCensus)
            {
                ManagedFiles.WriteCensus(_sessionDirectory, census);
                _haveCompleteCensus |= complete;
            }
            if (!complete)
            {
                AddProblem($"the census at {Time(census.Time)} lost {census.LostEvents} events (its {census.BufferBytes >> 20} MiB buffer filled)" +
                           (_haveCompleteCensus ? "; the last complete census is kept" : "; it is kept, incomplete, as the only one"));
            }
        }
        catch (CensusFailedException problem)
        {
            _policy.Failed(DateTime.UtcNow, clock.Elapsed);
            AddProblem($"the census asked at {Time(_status.CensusStarted.Value)} ({trigger}) failed: {problem.Message}");
        }
        _status.CensusStarted = null;
        WriteStatus();
    }

    /// <summary>
    /// Copies the sampler's OutOfMemoryExceptions and last GC heap size into managed.json's status;
    /// true when a new OutOfMemoryException came (the status is then written at once, and
    /// <see cref="OutOfMemoryThrown"/> is raised).
    /// </summary>
    private bool TakeSamplerFacts()
    {
        if (_sampler is not { } sampler) return false;
        _status.GcHeapBytes = sampler.GcHeapBytes;
        _status.GcHeapTime = sampler.GcHeapTime;
        var (kept, total) = sampler.OutOfMemoryExceptions();
        if (total == _status.OutOfMemoryExceptionsTotal) return false;
        _status.OutOfMemoryExceptions = kept;
        _status.OutOfMemoryExceptionsTotal = total;
        OutOfMemoryThrown?.Invoke(kept[^1]);
        return true;
    }

    private void AddProblem(string problem)
    {
        _status.CensusProblems.Add(problem);
        if (_status.CensusProblems.Count > ProblemsKept) _status.CensusProblems.RemoveAt(0);
    }

    private void Note(string problem)
    {
        AddProblem(problem);
        if (_statusWritten) WriteStatus();
    }

    private void WriteAllocations(bool force)
    {
        if (_sampler is not { } sampler) return;
        var generation = sampler.Generation;
        if (generation == _writtenGeneration && !force) return;
        if (generation == 0 && _writtenGeneration < 0) return;
        _writtenGeneration = generation;
        Write(() => ManagedFiles.WriteAllocations(_sessionDirectory, sampler.Snapshot()));
    }

    private void WriteStatus()
    {
        _statusWritten = true;
        Write(() => ManagedFiles.WriteStatus(_sessionDirectory, _status));
    }

    private void Write(Action write)
    {
        try
        {
            write();
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            _diagnostics.WriteLine($"foom run: cannot write the managed heap files in {_sessionDirectory}: {problem.Message}");
        }
    }

    private static string Time(long milliseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(milliseconds).UtcDateTime.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) + " UTC";
}
