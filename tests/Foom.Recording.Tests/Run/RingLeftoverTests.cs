using System.Diagnostics;
using System.Globalization;
using Foom.Recorder.Recording;
using Foom.Recording.Tests.Support;
using Foom.Testing;
using Foom.Report.IO;
using Foom.Ring;
using Foom.Storage;
using Foom.Storage.Sessions;
using Foom.Interop;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// A recorder killed with its program leaves events in the ring that it had not applied: the
/// next launch applies them to the session's tables, exactly once, before the report is made.
/// </summary>
public sealed class RingLeftoverTests(ITestOutputHelper output) : IDisposable
{
    private readonly FoomCli _foom = new();

    /// <summary>Until every thread of <paramref name="pid"/> is in the stopped state (T) in /proc.</summary>
    private static async Task AllThreadsStopped(int pid, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var states = Directory.GetDirectories($"/proc/{pid}/task").Select(task => ThreadState($"{task}/stat")).ToList();
            if (states.Count > 0 && states.All(state => state is 'T' or 't')) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the recorder's threads did not all stop within a minute: {new string(states.ToArray())}");
            await Task.Delay(10, cancel);
        }
    }

    // "tid (comm) S ...": the state follows the last ')'; a thread gone since the listing counts as stopped.
    private static char ThreadState(string statPath)
    {
        try
        {
            var text = File.ReadAllText(statPath);
            var close = text.LastIndexOf(')');
            return close >= 0 && close + 2 < text.Length ? text[close + 2] : '?';
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return 'T';
        }
    }

    [Fact]
    public async Task TheNextLaunchAppliesWhatAKilledRecorderLeftInTheRingBeforeItReports()
    {
        var cancel = TestContext.Current.CancellationToken;
        var program = CProgram.Build("two_phase.c");
        var go = Path.Combine(_foom.DataDirectory, "go");
        Dictionary<string, (long Blocks, long Bytes)> held;
        string session;
        using (var foom = _foom.Start("run", "--limit", "40M", "--limit-by", "foom", "--app", "leftovers", "--", program, go, "30"))
        {
            Assert.Equal("phase 1", await foom.StandardOutput.ReadLineAsync(cancel));
            session = Assert.Single(_foom.Sessions("leftovers"));
            await _foom.RunningSession("leftovers");
            // The footprint near the limit (so the next launch infers an OOM), and phase 1 in the
            // tables (so that phase 2's notes, sent by stack hash alone, need the stack keys).
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (((_foom.Info(session).LastFootprintBytes ?? 0) < 32L << 20 || AppliedBytes(session) < 30L << 20) && DateTime.UtcNow < deadline)
                await Task.Delay(100, cancel);
            Assert.True(AppliedBytes(session) >= 30L << 20, "the recorder did not apply phase 1 within a minute");

            // The recorder stops applying (stopped, not dead: the hook keeps writing into the
            // ring); the program goes on, says what it holds, and both are killed.
            Processes.kill(foom.Id, 19);   // SIGSTOP
            try
            {
                // kill returns before every thread has stopped: a drain thread still running could
                // apply phase 2 before its stop (0, 1030 and 1601 events were left in failed runs).
                await AllThreadsStopped(foom.Id, cancel);
                await File.WriteAllTextAsync(go, "", cancel);
                held = await ReadHoldings(foom.StandardOutput, cancel);
            }
            finally
            {
                Processes.kill(foom.Id, 9);
                Processes.kill(_foom.Info(session).Pid, 9);
                await foom.WaitForExitAsync(cancel);
            }
        }

        // The same program again (another would make the verdict app_upgraded), at once done.
        var next = await _foom.RunAsync("run", "--app", "leftovers", "--", program, go, "0", "exit");
        Assert.True(next.ExitCode == 0, next.Describe());
        var path = Path.Combine(session, SessionDirectories.ReportFileName);
        Assert.True(File.Exists(path), $"the next launch made no report of the killed run:\n{next.Describe()}");
        var report = ReportReader.Read(path);
        Assert.Equal(("foreground_oom", "inferred"), (report.Head.ExitReason, report.Head.ExitHow));
        var leftovers = _foom.Info(session).RingLeftovers;
        Assert.NotNull(leftovers);
        // Phase 2 is over 5000 events (3000 notes, 1000 frees, 500 reallocs, late notes, mappings), none of them applied before the kill.
        // It failed now and then on a loaded machine (1030 and 1601 applied) without saying why: the
        // message carries what the next launch noted (holes left by a producer killed mid-record,
        // drops, a stop on a bad record), so the next failure names its cause.
        Assert.True(leftovers.EventsApplied > 5000,
            $"only {leftovers.EventsApplied} events were applied from the ring; abandoned bytes {leftovers.AbandonedBytes}; " +
            $"notes: {string.Join(" | ", leftovers.Notes)}; recovery: {string.Join(" | ", report.Head.Recovery ?? [])}; " +
            $"dropped events {report.Head.DroppedEvents}");
        Assert.Contains(report.Head.Recovery!, line => line.Contains($"{leftovers.EventsApplied.ToString("N0", CultureInfo.InvariantCulture)} events it had left unapplied"));
        output.WriteLine($"{leftovers.EventsApplied} events applied at the next launch; recovery: {string.Join(" | ", report.Head.Recovery!)}");

        // Every block the program held, from every call site, and none twice.
        AssertHoldings(held, report);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EventsTheDeadRecorderAppliedAreNotAppliedAgain(bool killedBeforeStoringTheLastPosition)
    {
        var cancel = TestContext.Current.CancellationToken;
        var directory = Directory.CreateTempSubdirectory("foom-leftovers-");
        try
        {
            // A real program fills a ring; nobody consumes it yet.
            var go = Path.Combine(directory.FullName, "go");
            File.WriteAllText(go, "");
            var session = Directory.CreateDirectory(Path.Combine(directory.FullName, "session")).FullName;
            var ringPath = Path.Combine(session, EventRing.SessionFileName);
            int pid;
            Dictionary<string, (long Blocks, long Bytes)> held;
            using (var ring = EventRing.Create(ringPath))
            {
                var start = new ProcessStartInfo(CProgram.Build("two_phase.c")) { RedirectStandardOutput = true, UseShellExecute = false };
                foreach (var argument in new[] { go, "2", "exit" }) start.ArgumentList.Add(argument);
                foreach (var (name, value) in ring.TargetEnvironment()) start.Environment[name] = value;
                using var target = Process.Start(start)!;
                pid = target.Id;
                held = await ReadHoldings(target.StandardOutput, cancel);
                await target.WaitForExitAsync(cancel).WaitAsync(TimeSpan.FromMinutes(1), cancel);
                Assert.Equal(0, target.ExitCode);
            }
            var cleanRing = Path.Combine(directory.FullName, "clean-ring.foom");
            File.Copy(ringPath, cleanRing);

            // A recorder in a process of its own applies the first 800 events, without publishing
            // its tail (it does every 64 KiB), and is SIGKILLed.
            const int Applied = 800;
            var drainStart = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Foom.RingDrain.dll"), "apply-part", "--ring", ringPath, "--session", session, "--events", Applied.ToString(CultureInfo.InvariantCulture) })
                drainStart.ArgumentList.Add(argument);
            if (killedBeforeStoringTheLastPosition) drainStart.ArgumentList.Add("--position-before-last");
            using (var drain = Process.Start(drainStart)!)
            {
                var line = await drain.StandardOutput.ReadLineAsync(cancel).AsTask().WaitAsync(TimeSpan.FromMinutes(1), cancel);
                drain.Kill();
                await drain.WaitForExitAsync(cancel);
                var words = line?.Split(' ') ?? [];
                Assert.True(words is ["applied", _, "tail", _, "position", _], $"the drain said: {line}");
                Assert.Equal(Applied.ToString(CultureInfo.InvariantCulture), words[1]);
                // The case that matters: events applied past the tail the producers were told of.
                Assert.True(ulong.Parse(words[5], CultureInfo.InvariantCulture) > ulong.Parse(words[3], CultureInfo.InvariantCulture), line);
            }
            SessionInfoFile.Write(session, new SessionInfo { SessionId = "killed", AppId = "two-phase", Pid = pid, StartTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });

            var outcome = RingLeftovers.Apply(session, "next");
            Assert.NotNull(outcome);
            Assert.Null(outcome.Problem);

            // The same events applied by one recorder that never died.
            var clean = Path.Combine(directory.FullName, "clean");
            long total;
            using (var tables = SessionTables.Create(clean))
            using (var ring = EventRing.Open(cleanRing, writable: true))
            {
                var applier = new EventApplier(tables);
                var consumer = new RingConsumer(ring, applier.Stacks);
                while (consumer.TryRead(out var next)) applier.Apply(next);
                total = consumer.EventsRead;
            }
            Assert.Equal(total - Applied, outcome.EventsApplied);
            Assert.Equal(LiveRecords(clean), LiveRecords(session));
            Assert.True(SessionReader.WriterClosedCleanly(session), "the tables were not closed after the leftovers were applied");
            Assert.Equal(0UL, outcome.AbandonedBytes);

            var report = SessionReport.Build(session);
            Assert.Contains(report.Head.Recovery!, line => line.Contains($"{outcome.EventsApplied.ToString("N0", CultureInfo.InvariantCulture)} events it had left unapplied"));
            AssertHoldings(held, report);

            // Applying again finds nothing to do: the tables were closed by the launch that did it.
            Assert.Null(RingLeftovers.Apply(session, "later"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The "site NAME BLOCKS BYTES" lines two_phase prints, up to "phase 2".</summary>
    private static async Task<Dictionary<string, (long Blocks, long Bytes)>> ReadHoldings(StreamReader output, CancellationToken cancel)
    {
        var held = new Dictionary<string, (long, long)>();
        while (await output.ReadLineAsync(cancel).AsTask().WaitAsync(TimeSpan.FromMinutes(1), cancel) is { } line && line != "phase 2")
        {
            if (line == "phase 1") continue;
            var words = line.Split(' ');
            Assert.True(words is ["site", _, _, _], $"two_phase printed: {line}");
            held[words[1]] = (long.Parse(words[2], CultureInfo.InvariantCulture), long.Parse(words[3], CultureInfo.InvariantCulture));
        }
        Assert.Equal(5, held.Count);
        return held;
    }

    /// <summary>Each call site's blocks in the report, summed over the stacks whose caller it is, equal what the program held.</summary>
    private static void AssertHoldings(Dictionary<string, (long Blocks, long Bytes)> held, Foom.Report.Model.Report report)
    {
        foreach (var (site, (blocks, bytes)) in held)
        {
            var stacks = report.Items.SelectMany(item => item.Stacks).Where(stack => stack.CallerFunction == site).ToList();
            Assert.True((blocks, bytes) == (stacks.Sum(s => s.Count), stacks.Sum(s => s.Size)),
                $"{site}: the program held {blocks} blocks of {bytes} bytes, the report has {stacks.Sum(s => s.Count)} of {stacks.Sum(s => s.Size)} " +
                $"in {stacks.Count} stacks; categories: {string.Join(", ", report.Items.Select(i => $"{i.Name} {i.Count}"))}");
        }
    }

    /// <summary>Every live record of a session, with its stack's frames and its category's name.</summary>
    private static List<string> LiveRecords(string session)
    {
        using var reader = SessionTables.Open(session);
        return [.. reader.Live.Allocations.ToArray().Select(a =>
            $"{a.Kind} 0x{a.Address:x} {a.Size} '{reader.Categories.Name(a.CategoryId)}' " +
            string.Join(" ", reader.Stacks.FramesOf(a.StackId).Select(f => $"{reader.Modules.Find(f.ModuleId)?.Path}+{f.Offset:x}")))];
    }

    /// <summary>The bytes the recorder has applied to a session's tables so far, read as a report reads them.</summary>
    private static long AppliedBytes(string session)
    {
        using var reader = SessionReader.Open(session);
        return reader.Live.HeapBytes + reader.Live.MappingBytes;
    }

    public void Dispose() => _foom.Dispose();
}
