using System.Text.Json;
using Foom.Report.Views;
using Foom.Testing;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// The whole path, as a user takes it: `foom run` a program that exits holding known
/// allocations, then `foom report --format json` on its session; the report's figures per call
/// site are exactly what the program holds.
/// </summary>
public sealed class RunReportTests : IDisposable
{
    private readonly FoomCli _foom = new();

    /// <summary>What live_sites.cpp holds at exit, per allocating function: the blocks' sizes as asked for.</summary>
    private static readonly Dictionary<string, long[]> HeldBySite = new()
    {
        ["site_malloc"] = Repeat(40, 100),
        ["site_reuse"] = Repeat(40, 100),
        ["site_calloc"] = Repeat(12 * 25, 60),
        ["site_realloc"] = Repeat(3000, 4),
        ["site_new"] = Repeat(120, 30),
        ["site_new_array"] = Repeat(5000, 3),
        ["site_mmap"] = [64 * 1024, 48 * 1024],
    };

    private static long[] Repeat(long size, int count) => Enumerable.Repeat(size, count).ToArray();

    [Theory]
    [InlineData(CProgram.WithFramePointers)]
    [InlineData(CProgram.WithoutFramePointers)]
    public async Task EachCallSitesLiveBytesAndCountsAreExactlyWhatTheProgramHolds(string flags)
    {
        var program = CProgram.Build("live_sites.cpp", flags, flags.Contains("-fno-omit") ? "-fp" : "-nofp");
        var run = await _foom.RunAsync("run", "--app", "sites", "--", program);
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.EndsWith("holding\n", run.Output);
        // The reuse of freed addresses is part of what is tested: glibc must really have handed them back.
        var reused = int.Parse(run.Output.Split('\n')[0].Split(' ')[1]);
        Assert.True(reused > 0, $"no address of a freed block came back ({run.Output.Trim()}): the reuse case is not exercised");

        var session = Assert.Single(_foom.Sessions("sites"));
        var printed = await _foom.RunAsync("report", session, "--format", "json");
        Assert.True(printed.ExitCode == 0, printed.Describe());
        var report = JsonSerializer.Deserialize<Foom.Report.Model.Report>(printed.Output)
            ?? throw new InvalidDataException("foom report printed null");

        Assert.Equal("exit", report.Head.ExitReason);
        Assert.Equal(0, report.Head.DroppedEvents);
        // The kill priority as the kernel saw it (WeChat's monitor's memorystatus entry), when it could be read.
        var info = _foom.Info(session);
        Assert.Equal((info.OomScore, info.OomScoreAdj), (report.Head.OomScore, report.Head.OomScoreAdj));
        // Every category with its totals; together they are the head's live figures.
        Assert.Equal(report.Head.LiveBytes, report.Items.Sum(item => item.Size));
        Assert.Equal(report.Head.LiveCount, report.Items.Sum(item => item.Count));
        // foom run's last line and the report read the same figures, in the same words.
        Assert.Contains($"live {FrameLabels.Bytes(report.Head.LiveBytes)} in {report.Head.LiveCount:N0} blocks;", run.Errors);

        var bySite = new Dictionary<string, (long Size, long Count)>();
        foreach (var item in report.Items)
        {
            if (!item.Stacks.Any(stack => stack.CallerFunction is { } caller && HeldBySite.ContainsKey(caller))) continue;
            // A category holding one of the sites lists every one of its stacks (the program is small enough).
            Assert.True(item.DistinctStacks == item.Stacks.Count,
                $"{item.Name} lists {item.Stacks.Count} of its {item.DistinctStacks} stacks: the per-site sums would be partial");
            Assert.Equal(item.Size, item.Stacks.Sum(stack => stack.Size));
            Assert.Equal(item.Count, item.Stacks.Sum(stack => stack.Count));
            foreach (var stack in item.Stacks)
            {
                if (stack.CallerFunction is not { } caller || !HeldBySite.ContainsKey(caller)) continue;
                var sum = bySite.GetValueOrDefault(caller);
                bySite[caller] = (sum.Size + stack.Size, sum.Count + stack.Count);
                // The caller's own callers are named too: every site is called from main.
                Assert.Contains(stack.Frames, frame => frame.Function == "main");
            }
        }

        var expected = HeldBySite.ToDictionary(pair => pair.Key, pair => (pair.Value.Sum(), (long)pair.Value.Length));
        Assert.Equal(expected.OrderBy(pair => pair.Key), bySite.OrderBy(pair => pair.Key));

        // The inverted call tree puts each site at its root with the same exact figures, one line each.
        var tree = await _foom.RunAsync("report", session, "--format", "tree", "--inverted");
        Assert.True(tree.ExitCode == 0, tree.Describe());
        foreach (var (site, (size, count)) in expected)
            Assert.Matches($@"(?m)^ *[0-9.]+ % +{System.Text.RegularExpressions.Regex.Escape(FrameLabels.Bytes(size))} +{count:N0}  {site} \(", tree.Output);
    }

    public void Dispose() => _foom.Dispose();
}
