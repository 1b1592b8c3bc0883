using System.Text.Json;
using Foom.Recording.Tests.Support;

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
        var held = report.Items.SelectMany(item => item.Stacks).Where(stack => stack.Size == 7777792 && stack.Count == 1).ToList();
        var stack = Assert.Single(held);
        // The managed method that called malloc is JIT code: only the perf map knows its name.
        Assert.Contains(stack.Frames, frame => frame.Uuid == "" && frame.Function is { } name && name.Contains("NativeHeap::Hold", StringComparison.Ordinal));
    }

    public void Dispose() => _foom.Dispose();
}
