using System.Diagnostics;
using System.Runtime.InteropServices;
using Foom.Storage.Live;
using Foom.Storage.Tests.Support;
using Foom.Testing;

namespace Foom.Storage.Tests;

/// <summary>
/// The real thing: a writer process (Foom.Storage.CrashHelper) applies a known stream of
/// operations to a session and is SIGKILLed at a random instant; the reader must recover exactly
/// the operations the writer had completed, plus at most the one that was in flight, wholly; and
/// a later writer that resumes the session (SessionTables.Resume) goes on from there.
/// </summary>
public class CrashRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private const int Rounds = 12;
    private const int ResumedOperations = 3000;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AWriterKilledAtRandomInstantsLosesNothingItCompletedAndTearsNothing()
    {
        var random = new Random(20240611);
        var plan = Enumerable.Range(0, Rounds).Select(round => (Round: round, Seed: random.Next(), RunFor: random.Next(10, 200))).ToArray();
        int inFlightApplied = 0, inFlightNotApplied = 0, journalsCompleted = 0, records = 0;
        long operations = 0;
        // Two writers at a time: most of a round is the helper's start-up.
        Parallel.ForEach(plan, new ParallelOptions { MaxDegreeOfParallelism = 2 }, p =>
        {
            var (round, seed, runFor) = p;
            var session = Path.Combine(_dir.Path, $"session-{round}");
            var progressPath = Path.Combine(_dir.Path, $"progress-{round}");
            var completed = RunAndKill(session, seed, progressPath, TimeSpan.FromMilliseconds(runFor));
            Interlocked.Add(ref operations, completed);

            // The operations the writer had completed, and the one it may have been inside.
            var ops = LiveOp.Stream(seed).Take((int)completed + 1).ToArray();
            var before = new LiveModel();
            foreach (var op in ops[..^1]) op.Apply(before);
            var after = before.Clone();
            ops[^1].Apply(after);

            using var reader = SessionTables.Open(session);
            Assert.Equal(WriterStatus.Interrupted, reader.Recovery.Status);
            Assert.Contains("did not close", reader.Recovery.Statement);
            var recovered = reader.Live.Allocations.ToArray().Select(a => Describe(reader, a)).ToList();
            var expectedBefore = before.All().Select(Describe).ToList();
            var expectedAfter = after.All().Select(Describe).ToList();
            if (recovered.SequenceEqual(expectedBefore)) Interlocked.Increment(ref inFlightNotApplied);
            else if (recovered.SequenceEqual(expectedAfter)) Interlocked.Increment(ref inFlightApplied);
            else
            {
                var missing = expectedBefore.Except(recovered).Take(5);
                var extra = recovered.Except(expectedBefore).Take(5);
                Assert.Fail($"round {round} (seed {seed}, killed after {completed} operations, in flight: {ops[^1]}): " +
                            $"recovered {recovered.Count} records, expected {expectedBefore.Count} or {expectedAfter.Count}; " +
                            $"missing e.g. {string.Join("; ", missing)}; unexpected e.g. {string.Join("; ", extra)}. " +
                            $"Recovery said: {reader.Recovery.Statement}");
            }
            if (reader.Recovery.Statement.Contains("completed from the journal")) Interlocked.Increment(ref journalsCompleted);
            Interlocked.Add(ref records, recovered.Count);

            // A later writer takes the session over and goes on with the stream where the dead
            // one stopped; the tables it closes hold what one writer that never died would have.
            var inFlightWasApplied = !recovered.SequenceEqual(expectedBefore);
            var model = inFlightWasApplied ? after : before;
            using (var resumed = SessionTables.Resume(session))
            {
                Assert.Contains(resumed.ResumeNotes, note => note.Contains("rebuilt from the in-use marks"));
                var frames = new Foom.Storage.Stacks.Frame[16];
                foreach (var op in LiveOp.Stream(seed).Skip((int)completed + (inFlightWasApplied ? 1 : 0)).Take(ResumedOperations))
                {
                    var stackId = 0;
                    if (op.Stack != 0)
                    {
                        var pcs = CrashScript.Pcs(op.Stack);
                        resumed.Modules.Resolve(pcs, frames);
                        stackId = resumed.Stacks.Intern(frames.AsSpan(0, pcs.Length));
                    }
                    (op with { Stack = stackId, Category = resumed.Categories.Intern(CrashScript.Category(op.Category)) }).Apply(resumed.Live);
                    op.Apply(model);
                }
            }
            using var closed = SessionTables.Open(session);
            Assert.Equal(WriterStatus.ClosedCleanly, closed.Recovery.Status);
            Assert.Equal(model.All().Select(Describe), closed.Live.Allocations.ToArray().Select(a => Describe(closed, a)));
        });
        output.WriteLine($"{Rounds} kills after {operations} operations in all: the in-flight operation came out applied {inFlightApplied} times, " +
                         $"not applied {inFlightNotApplied} times; {journalsCompleted} multi-record operations completed from the journal; {records} records compared");
        // Kills must land among operations, not before the first: otherwise this test proves nothing.
        Assert.True(operations > Rounds * 100, $"the writers completed only {operations} operations before their kills");
    }

    private static string Describe(SessionReader reader, LiveAllocation a) =>
        $"{a.Kind} 0x{a.Address:x} {a.Size} [{CrashScript.Describe(reader.Stacks.FramesOf(a.StackId), m => reader.Modules.Find(m)!.Path)}] '{reader.Categories.Name(a.CategoryId)}'";

    private static string Describe(LiveAllocation a) =>
        $"{a.Kind} 0x{a.Address:x} {a.Size} [{(a.StackId == 0 ? "" : CrashScript.DescribeExpected(a.StackId))}] '{CrashScript.Category(a.CategoryId)}'";

    /// <summary>Starts the helper, lets it run for <paramref name="runFor"/> after it is ready, SIGKILLs it; returns the operations it completed.</summary>
    private static long RunAndKill(string session, int seed, string progressPath, TimeSpan runFor)
    {
        var helper = Path.Combine(AppContext.BaseDirectory, "Foom.Storage.CrashHelper.dll");
        var start = new ProcessStartInfo(DotnetHost(), [helper, session, seed.ToString(), progressPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("the crash helper did not start");
        try
        {
            var ready = process.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask();
            if (!ready.Wait(TimeSpan.FromSeconds(60)) || ready.Result != "ready")
                Assert.Fail($"the crash helper did not get ready: {process.StandardError.ReadToEnd()}");
            Thread.Sleep(runFor);
            if (process.HasExited) Assert.Fail($"the crash helper exited by itself: {process.StandardError.ReadToEnd()}");
        }
        finally
        {
            process.Kill(); // SIGKILL on Linux
            process.WaitForExit();
        }
        var bytes = File.ReadAllBytes(progressPath);
        return BitConverter.ToInt64(bytes, 0);
    }

    /// <summary>The dotnet host that runs this test: the runtime directory is dotnet/shared/Microsoft.NETCore.App/VERSION/.</summary>
    private static string DotnetHost()
    {
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var host = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(host) ? host : "dotnet";
    }
}
