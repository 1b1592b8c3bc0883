using System.Diagnostics;
using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>The recorder is SIGKILLed while the target runs: the target carries on and finishes.</summary>
public class RecorderDeathTests
{
    [Fact]
    public async Task KillingTheRecorderMidRunLeavesTheTargetToFinishNormally()
    {
        var cancel = TestContext.Current.CancellationToken;
        var directory = Directory.CreateTempSubdirectory("foom-recorder-death-");
        try
        {
            var ringPath = Path.Combine(directory.FullName, "ring");
            var drainStart = new ProcessStartInfo("dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Foom.RingDrain.dll"), "serve", "--ring", ringPath, "--size", (1 << 20).ToString() })
                drainStart.ArgumentList.Add(argument);
            using var drain = Process.Start(drainStart)!;
            Assert.Equal("ready", await drain.StandardOutput.ReadLineAsync(cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(60), cancel));

            var binary = CProgram.Build("alloc_loop.c", CProgram.WithFramePointers);
            var targetStart = new ProcessStartInfo(binary, "30000000") { RedirectStandardOutput = true, UseShellExecute = false };
            targetStart.Environment["LD_PRELOAD"] = HookLibrary.Path;
            targetStart.Environment["FOOM_RING"] = ringPath;
            using var target = Process.Start(targetStart)!;
            var targetOutput = target.StandardOutput.ReadToEndAsync(cancel);

            // The recorder has consumed events from the running target: now it dies.
            var line = await drain.StandardOutput.ReadLineAsync(cancel).AsTask().WaitAsync(TimeSpan.FromSeconds(60), cancel);
            Assert.StartsWith("events ", line);
            Assert.False(target.HasExited, "the target finished before the recorder could be killed");
            drain.Kill();
            await drain.WaitForExitAsync(cancel);

            await target.WaitForExitAsync(cancel).WaitAsync(TimeSpan.FromSeconds(120), cancel);
            Assert.Equal(0, target.ExitCode);
            Assert.Contains("done", await targetOutput);

            using var ring = EventRing.Open(ringPath);
            var marks = ring.ReadMarks();
            Assert.Equal(StopReason.RecorderGone, marks.Stopped);
            Assert.NotNull(marks.StoppedTime);
            Assert.Equal((ExitKind.MainReturn, 0), (marks.ExitKind, marks.ExitStatus));
            Assert.Equal(target.Id, marks.TargetPid);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AStopAskedForByTheRecorderEndsRecordingAndTheTargetCarriesOn()
    {
        var binary = CProgram.Build("alloc_loop.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, ["3000000"], new HookedRunOptions
        {
            WhileRunning = async target =>
            {
                await target.LineAsync(l => l == "running", TimeSpan.FromSeconds(60));
                target.Ring.RequestStop();
            },
        });
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("done", result.Output);
        Assert.Equal(StopReason.ByRecorder, result.Marks.Stopped);
        var allocations = result.Of(RecordKind.Alloc).Count();
        Assert.InRange(allocations, 300_000, 2_900_000);
        Assert.Equal(0ul, result.Counters.DroppedEvents);
    }

    [Fact]
    public async Task ARingWhoseTailIsPastItsHeadStopsRecordingAndTheTargetCarriesOn()
    {
        var binary = CProgram.Build("alloc_loop.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(binary, ["10000"], new HookedRunOptions
        {
            // No consumer writes a tail past the head: the hook must not trust such a ring.
            PrepareRing = ring => ring.Header.Tail = 1 << 40,
        });
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("done", result.Output);
        Assert.Equal(StopReason.RingInvalid, result.Marks.Stopped);
        Assert.Empty(result.Events);
    }
}
