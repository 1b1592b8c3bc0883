using System.Diagnostics;
using System.Globalization;
using System.Text;
using Foom.Ring;

namespace Foom.Ring.Tests.Support;

/// <summary>One event as the test keeps it (a copy: the ring's views last one read).</summary>
public sealed record RecordedEvent(
    ulong Position,
    RecordKind Kind,
    EventSource Source,
    RecordFlags Flags,
    uint ThreadId,
    ulong Address,
    ulong Size,
    uint Alignment,
    ulong StackHash,
    ulong[] Frames,
    bool StackKnown,
    MapKind MapKind,
    int Prot,
    ulong OldAddress,
    string Path,
    string BuildId,
    ulong Base,
    ulong Start,
    ModuleFlags ModuleFlags,
    int Pid,
    uint Generation,
    AttachFlags AttachFlags)
{
    public static RecordedEvent Copy(in RingEvent e) => new(
        e.Position, e.Kind, e.Source, e.Flags, e.ThreadId, e.Address, e.Size, e.Alignment, e.StackHash,
        e.Frames.ToArray(), e.StackKnown, e.MapKind, e.Prot, e.OldAddress, e.PathText(), e.BuildIdText(),
        e.Base, e.Start, e.ModuleFlags, e.Pid, e.Generation, e.AttachFlags);

    public override string ToString() =>
        $"{Kind}/{Source} tid={ThreadId} 0x{Address:x} size={Size} flags={Flags} frames=[{string.Join(" ", Frames.Select(f => f.ToString("x", CultureInfo.InvariantCulture)))}] {Path}";
}

/// <summary>Settings for <see cref="HookedRun"/>.</summary>
public sealed record HookedRunOptions
{
    public long RingSize { get; init; } = EventRing.DefaultDataSize;
    public uint FullWaitMs { get; init; }
    public RingOptions RingOptions { get; init; }
    /// <summary>Sampled mode: heap blocks sampled by bytes, one per this many on average (0: every block).</summary>
    public long SampleBytes { get; init; }
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    /// <summary>The consumer does not read until this much time has passed (a stalled recorder).</summary>
    public TimeSpan ConsumerStall { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Changes the fresh ring before the program starts (to damage it, say).</summary>
    public Action<EventRing>? PrepareRing { get; init; }
    /// <summary>Spare rings offered to the run's other processes (the recorder's pool); 0: none, as a recorder that offers none.</summary>
    public int PoolSpares { get; init; }
    /// <summary>Runs while the program does (raise a warning, kill something), then the run goes on to its end.</summary>
    public Func<RunningTarget, Task>? WhileRunning { get; init; }
}

/// <summary>The ring and the program while they run.</summary>
public sealed class RunningTarget(EventRing ring, Process process)
{
    private readonly Lock gate = new();
    private readonly StringBuilder output = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> waiters = [];

    public EventRing Ring { get; } = ring;
    public Process Process { get; } = process;

    public string Output
    {
        get { lock (gate) return output.ToString(); }
    }

    internal void OnLine(string? line)
    {
        if (line is null) return;
        lock (gate)
        {
            output.Append(line).Append('\n');
            foreach (var waiter in waiters.Where(w => w.Match(line)).ToList())
            {
                waiter.Seen.TrySetResult(line);
                waiters.Remove(waiter);
            }
        }
    }

    /// <summary>The first output line (already printed or still to come) that matches.</summary>
    public Task<string> LineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        lock (gate)
        {
            var existing = output.ToString().Split('\n').FirstOrDefault(match);
            if (existing is not null) return Task.FromResult(existing);
            var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((match, seen));
            return seen.Task.WaitAsync(timeout);
        }
    }
}

/// <summary>What a hooked run left behind.</summary>
public sealed record HookedResult(
    int ExitCode,
    string Output,
    string Error,
    IReadOnlyList<RecordedEvent> Events,
    RingCounters Counters,
    RingMarks Marks,
    long UnknownStacks,
    ulong PendingBytes)
{
    /// <summary>The rings the run's other processes claimed from the pool, read after the run.</summary>
    public IReadOnlyList<ClaimedRing> ClaimedRings { get; init; } = [];

    /// <summary>The run ring's pool counters: (created, claimed, exhausted).</summary>
    public (uint Created, uint Claimed, uint Exhausted) Pool { get; init; }

    public IEnumerable<RecordedEvent> Of(RecordKind kind) => Events.Where(e => e.Kind == kind);

    /// <summary>Lines "fn NAME 0xADDRESS" the test programs print, for attributing frames.</summary>
    public FunctionMap Functions => FunctionMap.Parse(Output);

    public string Describe() =>
        $"exit {ExitCode}, {Events.Count} events, counters {Counters}\nstdout:\n{Output}\nstderr:\n{Error}";
}

/// <summary>
/// Runs a program under the hook with this test process as the recorder: creates a ring in a
/// temporary directory, starts the program with LD_PRELOAD and FOOM_RING, drains the ring on a
/// thread of its own while the program runs, and keeps a copy of every event.
/// </summary>
public static class HookedRun
{
    public static async Task<HookedResult> RunAsync(string program, IEnumerable<string> arguments, HookedRunOptions? options = null)
    {
        options ??= new HookedRunOptions();
        var directory = Directory.CreateTempSubdirectory("foom-ring-test-");
        try
        {
            var ringPath = System.IO.Path.Combine(directory.FullName, "ring");
            using var ring = EventRing.Create(ringPath, options.RingSize, options.FullWaitMs, options.RingOptions, options.SampleBytes);
            options.PrepareRing?.Invoke(ring);
            using var pool = options.PoolSpares > 0 ? new RingPool(ring, options.PoolSpares, EventRing.MinimumDataSize) : null;
            pool?.Replenish();
            var start = new ProcessStartInfo(program)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            foreach (var (name, value) in ring.TargetEnvironment()) start.Environment[name] = value;
            foreach (var (name, value) in options.Environment) start.Environment[name] = value;

            var events = new List<RecordedEvent>();
            var exited = new TaskCompletionSource();
            var consumer = new RingConsumer(ring);
            var drain = Task.Factory.StartNew(() =>
            {
                if (options.ConsumerStall > TimeSpan.Zero) Thread.Sleep(options.ConsumerStall);
                var quietSince = (DateTime?)null;
                while (true)
                {
                    var read = false;
                    while (consumer.TryRead(out var e))
                    {
                        events.Add(RecordedEvent.Copy(e));
                        read = true;
                    }
                    if (exited.Task.IsCompleted)
                    {
                        // Everything committed is in once nothing new arrives for a while after exit
                        // (a reservation the dead program never committed stays pending).
                        if (consumer.PendingBytes == 0) break;
                        if (read) quietSince = null;
                        quietSince ??= DateTime.UtcNow;
                        if (DateTime.UtcNow - quietSince > TimeSpan.FromSeconds(2)) break;
                    }
                    consumer.WaitForEvent(TimeSpan.FromMilliseconds(20));
                }
            }, TaskCreationOptions.LongRunning);

            using var process = new Process { StartInfo = start };
            var running = new RunningTarget(ring, process);
            process.OutputDataReceived += (_, line) => running.OnLine(line.Data);
            if (!process.Start()) throw new InvalidOperationException($"{program} did not start");
            process.BeginOutputReadLine();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(options.Timeout);
            try
            {
                if (options.WhileRunning is not null) await options.WhileRunning(running).WaitAsync(timeout.Token);
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{program} did not finish within {options.Timeout}; output so far:\n{running.Output}");
            }
            exited.SetResult();
            await drain.WaitAsync(options.Timeout);
            var claimed = pool is null ? [] : pool.TakeClaimed().Select(c => ClaimedRing.ReadAll(c.Index, c.Ring)).ToList();
            return new HookedResult(process.ExitCode, running.Output, await error, events, ring.ReadCounters(), ring.ReadMarks(),
                consumer.UnknownStacks, consumer.PendingBytes)
            {
                ClaimedRings = claimed,
                Pool = (Volatile.Read(ref ring.Header.PoolCreated), Volatile.Read(ref ring.Header.PoolClaimed), Volatile.Read(ref ring.Header.PoolExhausted)),
            };
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}

/// <summary>A ring of the pool that a process of the run claimed: who it was, and every event it published.</summary>
public sealed record ClaimedRing(int Index, int Pid, int ParentPid, string CommandLine, IReadOnlyList<RecordedEvent> Events, RingMarks Marks)
{
    public IEnumerable<RecordedEvent> Of(RecordKind kind) => Events.Where(e => e.Kind == kind);

    /// <summary>Reads (and then closes) a claimed ring whose process has ended.</summary>
    public static unsafe ClaimedRing ReadAll(int index, EventRing ring)
    {
        using (ring)
        {
            var consumer = new RingConsumer(ring);
            var events = new List<RecordedEvent>();
            while (consumer.TryRead(out var e)) events.Add(RecordedEvent.Copy(e));
            ref var header = ref ring.Header;
            string commandLine;
            fixed (byte* bytes = header.CommandLine)
                commandLine = Encoding.UTF8.GetString(bytes, (int)Math.Min(header.CommandLineLength, (uint)RingLayout.CommandLineSize)).Replace('\0', ' ').Trim();
            return new ClaimedRing(index, header.TargetPid, header.ParentPid, commandLine, events, ring.ReadMarks());
        }
    }
}

/// <summary>Function start addresses printed by a test program ("fn NAME 0xADDRESS"): a frame belongs
/// to the nearest printed function below it, within 4 KiB.</summary>
public sealed class FunctionMap
{
    private readonly List<(ulong Address, string Name)> functions;

    private FunctionMap(List<(ulong, string)> functions) => this.functions = functions;

    public static FunctionMap Parse(string output)
    {
        var list = new List<(ulong, string)>();
        foreach (var line in output.Split('\n'))
        {
            var parts = line.Trim().Split(' ');
            if (parts.Length == 3 && parts[0] == "fn")
                list.Add((ulong.Parse(parts[2].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture), parts[1]));
        }
        list.Sort();
        return new FunctionMap(list);
    }

    public ulong AddressOf(string name) => functions.Single(f => f.Name == name).Address;

    public string? NameOf(ulong pc)
    {
        string? best = null;
        foreach (var (address, name) in functions)
            if (address <= pc && pc - address < 4096) best = name;
        return best;
    }

    /// <summary>The names of the frames, "?" for frames outside the printed functions.</summary>
    public string[] Names(IEnumerable<ulong> frames) => frames.Select(f => NameOf(f) ?? "?").ToArray();

    public string Describe(IEnumerable<ulong> frames)
    {
        var text = new StringBuilder();
        foreach (var f in frames) text.Append(CultureInfo.InvariantCulture, $"{f:x}={NameOf(f) ?? "?"} ");
        return text.ToString();
    }
}
