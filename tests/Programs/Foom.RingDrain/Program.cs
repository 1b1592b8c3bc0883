using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Foom.Interop;
using Foom.Recorder.Recording;
using Foom.Ring;
using Foom.Storage;

// Foom.RingDrain, a consumer of the event ring in a process of its own.
//
//   serve --ring PATH [--size BYTES] [--wait-ms MS]
//       creates the ring, prints "ready", drains it and prints "events N" every 65536 events,
//       until standard input ends; then drains what is left and prints a summary line.
//   run [--size BYTES] [--options N] [--dir DIRECTORY] [--fill-first] [--apply] -- PROGRAM [ARGS...]
//       creates a ring in a temporary directory (under DIRECTORY if given: /dev/shm keeps it off
//       the disk's writeback), runs PROGRAM under the hook, drains, and prints
//       the target's wall time and the drain rate (--apply: applying each event to a session's
//       tables, as `foom run` does); --fill-first drains only once the target has
//       exited or the ring is full, to time draining alone. Exits with PROGRAM's status.
//   apply-part --ring PATH --session DIRECTORY --events N [--position-before-last]
//       opens a ring a program filled, applies its first N events to new session tables in
//       DIRECTORY as the recorder does, prints "applied N tail T position P" (the tail published
//       to the producers, the position stored in the tables) and waits to be killed. With
//       --position-before-last the stored position is set back to the start of the last event
//       applied: what a kill between that event's changes and the store of its end leaves.
//   allocate BYTES
//       a .NET program to run under the hook: allocates BYTES of native memory and some managed
//       objects, prints "allocated", exits 42.
//   hold BYTES
//       a .NET program that exits 0 holding BYTES of native memory that JIT-compiled code
//       allocated (malloc called from a managed method, named only by the perf map).
return args.Length > 0 ? args[0] switch
{
    "serve" => Serve(Options(args[1..])),
    "run" => Run(args[1..]),
    "apply-part" => ApplyPart(Options(args[1..])),
    "allocate" => Allocate(long.Parse(args[1], CultureInfo.InvariantCulture)),
    "hold" => NativeHeap.Hold(long.Parse(args[1], CultureInfo.InvariantCulture)),
    _ => Usage(),
} : Usage();

static int Usage()
{
    Console.Error.WriteLine("usage: Foom.RingDrain serve --ring PATH [--size BYTES] [--wait-ms MS] | run [--size BYTES] [--options N] [--dir DIRECTORY] [--fill-first] [--apply] -- PROGRAM [ARGS...] | apply-part --ring PATH --session DIRECTORY --events N [--position-before-last] | allocate BYTES | hold BYTES");
    return 64;
}

static Dictionary<string, string> Options(string[] args)
{
    var options = new Dictionary<string, string>();
    for (var i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument {args[i]}");
        if (args[i] is "--fill-first" or "--apply" or "--position-before-last") options[args[i][2..]] = "yes";
        else options[args[i][2..]] = args[++i];
    }
    return options;
}

static long Size(Dictionary<string, string> options) =>
    options.TryGetValue("size", out var size) ? long.Parse(size, CultureInfo.InvariantCulture) : EventRing.DefaultDataSize;

static int Serve(Dictionary<string, string> options)
{
    using var ring = EventRing.Create(options["ring"], Size(options),
        options.TryGetValue("wait-ms", out var wait) ? uint.Parse(wait, CultureInfo.InvariantCulture) : 0);
    var consumer = new RingConsumer(ring);
    var inputEnded = Task.Run(() => Console.In.ReadToEnd());
    Console.WriteLine("ready");
    long reported = 0;
    while (true)
    {
        while (consumer.TryRead(out _))
        {
            if (consumer.EventsRead - reported >= 65536)
            {
                reported = consumer.EventsRead;
                Console.WriteLine($"events {reported}");
            }
        }
        if (inputEnded.IsCompleted) break;
        consumer.WaitForEvent(TimeSpan.FromMilliseconds(20));
    }
    while (consumer.TryRead(out _)) { }
    Console.WriteLine($"drained {consumer.EventsRead} events, {ring.ReadCounters()}");
    return 0;
}

static int Run(string[] args)
{
    var separator = Array.IndexOf(args, "--");
    if (separator < 0 || separator == args.Length - 1) return Usage();
    var options = Options(args[..separator]);
    var directory = options.TryGetValue("dir", out var parent)
        ? Directory.CreateDirectory(Path.Combine(parent, $"foom-drain-{Environment.ProcessId}"))
        : Directory.CreateTempSubdirectory("foom-drain-");
    try
    {
        var ringOptions = options.TryGetValue("options", out var o) ? (RingOptions)uint.Parse(o, CultureInfo.InvariantCulture) : RingOptions.None;
        using var ring = EventRing.Create(Path.Combine(directory.FullName, "ring"), Size(options), 0, ringOptions);
        // --apply: each event also goes into a session's tables, as `foom run`'s recorder applies it.
        using var tables = options.ContainsKey("apply") ? SessionTables.Create(Path.Combine(directory.FullName, "session")) : null;
        var applier = tables is null ? null : new EventApplier(tables);
        var consumer = new RingConsumer(ring, applier?.Stacks);
        var start = new ProcessStartInfo(args[separator + 1]) { UseShellExecute = false };
        foreach (var argument in args[(separator + 2)..]) start.ArgumentList.Add(argument);
        foreach (var (name, value) in ring.TargetEnvironment()) start.Environment[name] = value;
        var fillFirst = options.ContainsKey("fill-first");
        var clock = Stopwatch.StartNew();
        using var target = Process.Start(start)!;
        var targetTime = TimeSpan.Zero;
        var targetDone = target.WaitForExitAsync().ContinueWith(_ => targetTime = clock.Elapsed, TaskScheduler.Default);
        var drainTime = TimeSpan.Zero;
        var drainCpu = TimeSpan.Zero;
        long bytes = 0;
        while (true)
        {
            if (fillFirst && !targetDone.IsCompleted && consumer.PendingBytes < ring.DataSize * 9 / 10)
            {
                Thread.Sleep(1);
                continue;
            }
            var drainStart = clock.Elapsed;
            var cpuStart = Threads.CpuTime();
            while (consumer.TryRead(out var e))
            {
                bytes += e.Length;
                if (applier is null) continue;
                applier.LookAhead(consumer);
                applier.Apply(e);
            }
            drainTime += clock.Elapsed - drainStart;
            drainCpu += Threads.CpuTime() - cpuStart;
            if (targetDone.IsCompleted && consumer.PendingBytes == 0) break;
            consumer.WaitForEvent(TimeSpan.FromMilliseconds(5));
        }
        var rate = consumer.EventsRead / Math.Max(drainTime.TotalSeconds, 1e-9);
        Console.Error.WriteLine(FormattableString.Invariant(
            $"foom-drain: target {targetTime.TotalSeconds:F3} s, {consumer.EventsRead} events ({bytes / 1048576.0:F1} MiB) drained in {drainTime.TotalSeconds:F3} s busy = {rate / 1e6:F2} M events/s ({consumer.EventsRead / Math.Max(drainCpu.TotalSeconds, 1e-9) / 1e6:F2} M per CPU second), stacks {consumer.Stacks.Count}, {ring.ReadCounters()}{(tables is null ? "" : $", applied to storage: {tables.Live.Count} live")}"));
        return target.ExitCode;
    }
    finally
    {
        directory.Delete(recursive: true);
    }
}

static int ApplyPart(Dictionary<string, string> options)
{
    using var ring = EventRing.Open(options["ring"], writable: true);
    using var tables = SessionTables.Create(options["session"]);
    var applier = new EventApplier(tables);
    var consumer = new RingConsumer(ring, applier.Stacks);
    var wanted = long.Parse(options["events"], CultureInfo.InvariantCulture);
    ulong lastStart = 0;
    while (consumer.EventsRead < wanted && consumer.TryRead(out var next))
    {
        applier.Apply(next);
        lastStart = next.Position;
    }
    if (options.ContainsKey("position-before-last")) tables.Live.SourcePosition = lastStart;
    Console.WriteLine(FormattableString.Invariant($"applied {consumer.EventsRead} tail {Volatile.Read(ref ring.Header.Tail)} position {tables.Live.SourcePosition}"));
    Console.Out.Flush();
    Console.In.ReadToEnd();
    return 0;
}

static int Allocate(long bytes)
{
    var block = Marshal.AllocHGlobal((nint)bytes);
    var objects = new List<byte[]>();
    for (var i = 0; i < 1000; i++) objects.Add(new byte[1024]);
    GC.Collect();
    Console.WriteLine($"allocated {bytes} native, {objects.Count} managed");
    Marshal.FreeHGlobal(block);
    return 42;
}

/// <summary>malloc called straight from managed code: the allocation's innermost frame is JIT-compiled.</summary>
internal static unsafe class NativeHeap
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public static int Hold(long bytes)
    {
        // Looked up in the global scope, where LD_PRELOAD's malloc comes first: a lookup in libc's
        // own handle (what [DllImport("libc")] does) would find libc's malloc and bypass the hook.
        var malloc = (delegate* unmanaged<nuint, nint>)NativeLibrary.GetExport(NativeLibrary.GetMainProgramHandle(), "malloc");
        var block = malloc((nuint)bytes);
        Console.WriteLine(block == 0 ? "malloc failed" : $"holding {bytes}");
        return block == 0 ? 1 : 0;
    }
}

