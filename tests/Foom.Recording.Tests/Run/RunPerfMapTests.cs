using System.Text.Json;
using Foom.Testing;
using Foom.Storage.Sessions;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// JIT frames are named by the program's perf map, which lives in /tmp and outlives neither a
/// reboot nor a cleaner: `foom run` keeps a copy in the session, and a report made after the
/// original is gone still names them.
/// </summary>
public sealed class RunPerfMapTests : IDisposable
{
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task ADotnetProgramsPerfMapIsKeptInTheSessionAndNamesItsJitFramesAfterTheOriginalIsGone()
    {
        var program = Path.Combine(AppContext.BaseDirectory, "Foom.RingDrain.dll");
        var run = await _foom.RunAsync("run", "--app", "jit", "--", "dotnet", program, "hold", "7777777");
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Equal("holding 7777777\n", run.Output);

        var session = Assert.Single(_foom.Sessions("jit"));
        var pid = _foom.Info(session).Pid;
        var original = $"/tmp/perf-{pid}.map";
        var copy = Path.Combine(session, $"perf-{pid}.map");
        Assert.True(File.Exists(copy), $"no perf map copy in {session}");
        // Foom turned the perf map on, so it removed the runtime's files once the session had the copy.
        Assert.False(File.Exists(original), $"{original} was left in /tmp");
        Assert.False(File.Exists($"/tmp/perfinfo-{pid}.map"), $"/tmp/perfinfo-{pid}.map was left in /tmp");
        Assert.EndsWith("\n", await File.ReadAllTextAsync(copy, TestContext.Current.CancellationToken));

        var printed = await _foom.RunAsync("report", session, "--format", "json");
        Assert.True(printed.ExitCode == 0, printed.Describe());
        var report = JsonSerializer.Deserialize<Foom.Report.Model.Report>(printed.Output) ?? throw new InvalidDataException("foom report printed null");
        var held = report.Items.SelectMany(item => item.Stacks).Where(stack => stack.Size == 7777777 && stack.Count == 1).ToList();
        var stack = Assert.Single(held);
        // The managed method that called malloc is JIT code: only the perf map knows its name.
        Assert.Contains(stack.Frames, frame => frame.Uuid == "" && frame.Function is { } name && name.Contains("NativeHeap::Hold", StringComparison.Ordinal));
    }

    [Fact]
    public async Task APerfMapLeftByAnEarlierProcessWithTheSamePidIsNotTakenForTheProgramsOwn()
    {
        // A killed .NET or Python process leaves /tmp/perf-PID.map behind, and pids come round again.
        var running = _foom.RunAsync("run", "--app", "stale-map", "--", "sleep", "3");
        var pid = 0;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (pid == 0 && DateTime.UtcNow < deadline)
        {
            if (_foom.Sessions("stale-map").SingleOrDefault() is { } found && File.Exists(SessionInfoFile.PathIn(found))) pid = _foom.Info(found).Pid;
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
        Assert.True(pid > 0, "the session never named its program's pid");
        var stale = $"/tmp/perf-{pid}.map";
        await File.WriteAllTextAsync(stale, "7f0000001000 100 EarlierProcess::Method\n", TestContext.Current.CancellationToken);
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-1));
        try
        {
            var run = await running;
            Assert.True(run.ExitCode == 0, run.Describe());
            var session = Assert.Single(_foom.Sessions("stale-map"));
            Assert.False(File.Exists(Path.Combine(session, $"perf-{pid}.map")), "the earlier process's perf map was copied into the session");
            Assert.True(File.Exists(stale), "the earlier process's perf map was removed: it is not Foom's");
            Assert.DoesNotContain(stale, Foom.Report.Building.ReportSymbolizer.PerfMapsOf(session, pid, DateTime.UtcNow.AddMinutes(-1)));

            // Written since the program started, it is the program's.
            File.SetLastWriteTimeUtc(stale, DateTime.UtcNow);
            Assert.Contains(stale, Foom.Report.Building.ReportSymbolizer.PerfMapsOf(session, pid, DateTime.UtcNow.AddMinutes(-1)));
        }
        finally
        {
            File.Delete(stale);
        }
    }

    public void Dispose() => _foom.Dispose();
}
