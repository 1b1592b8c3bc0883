using System.Text.Json;
using Foom.Report.Model;
using Foom.Testing;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// `foom run --sample-bytes N`: a real program sampled by bytes and killed by the kernel in its
/// memory cgroup. The report says its figures are estimates, finds the site holding the memory,
/// and its estimate is within the stated bound of what the program itself holds; the sites whose
/// blocks were all freed are gone (the frees of their sampled blocks were seen).
/// </summary>
public sealed class RunSampledTests : IDisposable
{
    private readonly FoomCli _foom = new();

    private const long HeldBlocks = 8000;
    private const long HeldBlockSize = 3008; // 3000 bytes asked for, rounded up to 16

    [Fact]
    public async Task ASampledRunKilledInItsCgroupEstimatesTheHoldingSiteWithinItsBoundAndForgetsFreedBlocks()
    {
        var program = CProgram.Build("sampled_sites.c");
        var result = await _foom.RunAsync("run", "--sample-bytes", "64K", "--limit", "96M", "--app", "sampled", "--",
            program, HeldBlocks.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var session = Assert.Single(_foom.Sessions("sampled"));
        var info = _foom.Info(session);
        Assert.True(info.Limit?.Source is "cgroup-v1" or "cgroup-v2",
            $"the run needs a memory cgroup (root and the memory controller; .ci/run runs as root), but its limit came from {info.Limit?.Source}:\n{result.Describe()}");
        Assert.True(result.ExitCode == 137, result.Describe());
        Assert.Contains("holding", result.Output);
        Assert.Equal("foreground_oom", info.End?.ExitReason);
        Assert.Equal(64L * 1024, info.SampleBytes);
        Assert.Contains("blocks recorded by sampling one per 64.00 KiB (the report estimates the whole)", result.Errors);

        var printed = await _foom.RunAsync("report", session, "--format", "json");
        Assert.True(printed.ExitCode == 0, printed.Describe());
        var report = JsonSerializer.Deserialize<Foom.Report.Model.Report>(printed.Output) ?? throw new InvalidDataException("foom report printed null");

        // The report says it is an estimate: in its head and in the notes every view shows.
        var sampling = report.Head.Sampling ?? throw new InvalidDataException("a sampled run's report has no head.sampling");
        Assert.Equal(64L * 1024, sampling.SampleBytes);
        Assert.True(sampling.Samples > 0 && sampling.LiveBytesBound > 0, $"samples {sampling.Samples}, bound {sampling.LiveBytesBound}");
        Assert.Contains(report.Head.FigureNotes ?? [], note => note.StartsWith("the live figures are estimates", StringComparison.Ordinal));
        // The Matrix shape holds: the categories still add up to the head exactly.
        Assert.Equal(report.Head.LiveBytes, report.Items.Sum(item => item.Size));
        Assert.Equal(report.Head.LiveCount, report.Items.Sum(item => item.Count));
        var callers = report.Callers?.BottomUp ?? throw new InvalidDataException("no caller view");

        // The site holding the memory is found, and the program's own count is within the stated
        // bound. The bound is a 95 % interval, so a correct estimate falls outside it 1 run in 20:
        // the test allows twice the bound (3.9 standard errors, outside 1 run in 16,000) so that it
        // fails for a wrong estimate, not by chance. The benchmark measures the 95 % itself.
        var kept = Assert.Single(callers, caller => caller.Function == "hold_kept");
        Assert.True(kept.SizeBound is > 0 && kept.CountBound is > 0 && kept.Samples is > 0, $"hold_kept has no bound: {JsonSerializer.Serialize(kept)}");
        Assert.True(Math.Abs(kept.Size - HeldBlocks * HeldBlockSize) <= 2 * kept.SizeBound,
            $"hold_kept estimated at {kept.Size} ± {kept.SizeBound} bytes; the program held {HeldBlocks * HeldBlockSize}");
        Assert.True(Math.Abs(kept.Count - HeldBlocks) <= 2 * kept.CountBound,
            $"hold_kept estimated at {kept.Count} ± {kept.CountBound} blocks; the program held {HeldBlocks}");
        var category = Assert.Single(report.Items, item => item.Name == "Malloc 2.94 KiB");
        Assert.Equal(ReportItem.LiveEstimateMeasure, category.SizeMeasure);
        Assert.StartsWith("estimate ±", category.Info);

        // Blocks of N bytes or more are recorded exactly: the growing site has no bound.
        var grown = Assert.Single(callers, caller => caller.Function == "grow_until_killed");
        Assert.Null(grown.SizeBound);
        Assert.Equal(grown.Count << 20, grown.Size);

        // Every block of these sites was freed: the frees of the sampled ones removed them.
        var everyFunction = report.Items.SelectMany(item => item.Stacks).Select(stack => stack.CallerFunction)
            .Concat(callers.Select(caller => caller.Function)).ToHashSet();
        Assert.DoesNotContain("hold_freed", everyFunction);
        Assert.DoesNotContain("churn", everyFunction);

        // The text view says so too.
        var text = await _foom.RunAsync("report", session, "--format", "text");
        Assert.True(text.ExitCode == 0, text.Describe());
        Assert.Contains("the live figures are estimates", text.Output);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("lots")]
    public async Task ASampleSizeThatIsNotAPositiveSizeIsRefusedAndNamed(string size)
    {
        var result = await _foom.RunAsync("run", "--sample-bytes", size, "--", CProgram.Build("hello.c"));
        Assert.Equal(64, result.ExitCode);
        Assert.Contains("--sample-bytes", result.Errors);
        Assert.DoesNotContain("hello from a test program", result.Output);
    }

    public void Dispose() => _foom.Dispose();
}
