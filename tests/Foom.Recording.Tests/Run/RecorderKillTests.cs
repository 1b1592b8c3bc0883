using System.Collections.Concurrent;
using System.Globalization;
using Foom.Recording.Tests.Support;
using Foom.Report.Building;
using Foom.Report.IO;

using Foom.Testing;

using Foom.Recorder.Recording;
using Foom.Interop;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// Issue 16: a recorder (or program, or both) SIGKILLed at any instant never loses events
/// silently. kill_truth.c keeps its own ground truth; every report of the run must either hold
/// every block it held, or state exactly how many events went unrecorded.
/// </summary>
public sealed class RecorderKillTests(ITestOutputHelper output) : IDisposable
{
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task AKilledRecorderLeavesAGapThatEveryReportStatesExactly()
    {
        var cancel = TestContext.Current.CancellationToken;
        var program = CProgram.Build("kill_truth.c", "-O2 -g -fno-omit-frame-pointer");
        var truthPath = Path.Combine(_foom.DataDirectory, "truth");
        string session;
        using (var foom = _foom.Start("run", "--app", "gap", "--", program, truthPath, "3000000", "16"))
        {
            Assert.Equal("running", await foom.StandardOutput.ReadLineAsync(cancel).AsTask().WaitAsync(TimeSpan.FromMinutes(1), cancel));
            await _foom.RunningSession("gap");
            session = _foom.Sessions("gap").Single();
            Processes.kill(foom.Id, 9);
            await foom.WaitForExitAsync(cancel);
        }
        var truth = await Finished(truthPath, cancel);
        Assert.True(truth.OperationsDone == 3_000_000, $"the program stopped after {truth.OperationsDone} operations");

        // The next launch takes over what the dead recorder left in the ring.
        var next = await _foom.RunAsync("run", "--app", "gap", "--", program, Path.Combine(_foom.DataDirectory, "truth2"), "0", "1");
        Assert.True(next.ExitCode == 0, next.Describe());

        var json = await _foom.RunAsync("report", session, "--rebuild", "--format", "json");
        Assert.True(json.ExitCode == 0, json.Describe());
        var reportPath = Path.Combine(_foom.DataDirectory, "report.json");
        await File.WriteAllTextAsync(reportPath, json.Output, cancel);
        var report = ReportReader.Read(reportPath);
        var verdict = truth.Judge(report, out var detail);
        output.WriteLine(detail);
        // 3 M operations after the kill are far more than the 8 MiB ring holds: the hook must have
        // found the recorder gone, and counted everything after that.
        Assert.True(verdict == "exact gap", $"{verdict}: {detail}");
        var stopped = report.Head.RecordingStopped!;
        Assert.Equal("recorder_gone", stopped.Reason);
        Assert.True(stopped.UnrecordedAllocations > 0 && stopped.Time is not null, detail);

        var text = await _foom.RunAsync("report", session, "--rebuild", "--format", "text");
        Assert.True(text.ExitCode == 0, text.Describe());
        Assert.Contains("recording stopped", text.Output);
        Assert.Contains($"short by exactly {stopped.MissingHeapBlocks.ToString("N0", CultureInfo.InvariantCulture)}", text.Output.Replace("\n", " ", StringComparison.Ordinal));
    }

    public enum Victim { Recorder, Program, Both }

    /// <summary>
    /// 120 trials, three at a time: the recorder, the program or both SIGKILLed at a random
    /// instant of the run (once session.json exists); then the app's next launch; then the report
    /// is judged against the program's own truth. No trial may lose an event silently or state a
    /// gap that is not exact.
    /// </summary>
    [Fact]
    public async Task KillsAtRandomInstantsNeverLoseAnEventSilently()
    {
        const int Trials = 120;
        var cancel = TestContext.Current.CancellationToken;
        var program = CProgram.Build("kill_truth.c", "-O2 -g -fno-omit-frame-pointer");
        var seeds = new Random(20261206);
        var plans = Enumerable.Range(0, Trials).Select(i => (Index: i, Victim: (Victim)(i % 3), DelayMs: seeds.Next(0, 700), Seed: seeds.Next())).ToList();
        var verdicts = new ConcurrentBag<(int Index, Victim Victim, string Verdict, string Detail)>();
        await Parallel.ForEachAsync(plans, new ParallelOptions { MaxDegreeOfParallelism = 3, CancellationToken = cancel }, async (plan, token) =>
        {
            var (verdict, detail) = await Trial(program, plan.Index, plan.Victim, plan.DelayMs, plan.Seed, token);
            verdicts.Add((plan.Index, plan.Victim, verdict, detail));
        });

        foreach (var group in verdicts.GroupBy(v => (v.Victim, v.Verdict)).OrderBy(g => g.Key.Victim).ThenBy(g => g.Key.Verdict))
            output.WriteLine($"{group.Key.Victim} killed: {group.Count()} {group.Key.Verdict}");
        var failures = verdicts.Where(v => v.Verdict is not ("lossless" or "exact gap")).OrderBy(v => v.Index).ToList();
        foreach (var failure in failures) output.WriteLine($"trial {failure.Index} ({failure.Victim}): {failure.Verdict}: {failure.Detail}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {Trials} trials failed; the first: trial {failures.FirstOrDefault().Index} " +
            $"({failures.FirstOrDefault().Victim}): {failures.FirstOrDefault().Verdict}: {failures.FirstOrDefault().Detail}");
    }

    private async Task<(string Verdict, string Detail)> Trial(string program, int index, Victim victim, int delayMs, int seed, CancellationToken cancel)
    {
        var app = $"kill-{index}";
        var truthPath = Path.Combine(_foom.DataDirectory, $"truth-{index}");
        string session;
        using (var foom = _foom.Start("run", "--app", app, "--", program, truthPath, "400000", seed.ToString(CultureInfo.InvariantCulture)))
        {
            var info = await _foom.RunningSession(app);
            session = _foom.Sessions(app).Single();
            await Task.Delay(delayMs, cancel);
            if (victim is Victim.Program or Victim.Both) Processes.kill(info.Pid, 9);
            if (victim is Victim.Recorder or Victim.Both) Processes.kill(foom.Id, 9);
            await foom.WaitForExitAsync(cancel).WaitAsync(TimeSpan.FromMinutes(2), cancel);
            // A killed recorder leaves its program running: the truth is its end.
            if (victim == Victim.Recorder) await Finished(truthPath, cancel);
            else await WaitForDeath(info.Pid, cancel);
        }
        var truth = KillTruth.Read(truthPath);
        var next = await _foom.RunAsync("run", "--app", app, "--", program, truthPath + "-next", "0", "1");
        if (next.ExitCode != 0) return ("next launch failed", next.Describe());
        var report = SessionReport.Build(session);
        var verdict = truth.Judge(report, out var detail);
        return (verdict, $"killed after {delayMs} ms: {detail}");
    }

    private static async Task<KillTruth> Finished(string truthPath, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            var truth = KillTruth.Read(truthPath);
            if (truth.Finished) return truth;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"kill_truth did not finish in 2 minutes: {truth}");
            await Task.Delay(50, cancel);
        }
    }

    /// <summary>Until the killed program's pid is gone (its parent, the recorder, reaps it, or init does).</summary>
    private static async Task WaitForDeath(int pid, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (Directory.Exists($"/proc/{pid}") && File.ReadAllText($"/proc/{pid}/stat").Split(") ")[^1][0] != 'Z')
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"pid {pid} was still there a minute after SIGKILL");
            await Task.Delay(20, cancel);
        }
    }

    public void Dispose() => _foom.Dispose();
}
