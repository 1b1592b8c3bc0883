using System.Text;
using CsCheck;
using Foom.Ios.Jetsam;
using Foom.Ios.Tests.Support;

namespace Foom.Ios.Tests.Jetsam;

public class JetsamParserTests
{
    private static JetsamEvent ParseFile(string path)
    {
        var result = JetsamParser.Parse(File.ReadAllText(path));
        Assert.True(result.Succeeded, $"{path}: {result.Error}");
        return result.Event;
    }

    [Fact]
    public void Ios10HighwaterKillOfSpringBoard()
    {
        var report = ParseFile(Fixtures.JetsamMatching("real", "iOS10.1.1"));
        Assert.Equal("298", report.BugType);
        Assert.Equal("iPhone OS 10.1.1 (14B100)", report.OsVersion);
        Assert.Equal("iPhone7,2", report.Product);
        Assert.Equal("CED7B1F4-C643-48C9-882D-209F9C91D785", report.Incident);
        Assert.Equal(4096, report.PageSize);
        Assert.Equal("SpringBoard", report.LargestProcess);
        Assert.Equal(134, report.Processes.Count);
        Assert.Equal(6172, report.MemoryPages["free"]);
        Assert.Equal(70976, report.CompressorPages);
        Assert.Equal(new DateTimeOffset(2017, 6, 30, 12, 37, 23, 80, TimeSpan.FromHours(1)), report.Time);

        var killed = Assert.Single(report.Killed);
        Assert.Equal("SpringBoard", killed.Name);
        Assert.Equal(22873, killed.Pid);
        Assert.Equal("highwater", killed.Reason);
        Assert.Equal(61443, killed.Rpages);
        Assert.Equal(61443L * 4096, killed.FootprintBytes);
        Assert.Equal(24516L * 4096, killed.LifetimeMaxBytes);
        // highwater: the process crossed its own limit, so its footprint is that limit.
        Assert.Equal(killed.FootprintBytes, killed.LimitBytes);
    }

    [Fact]
    public void Ios11VnodeLimitKillRevealsNoMemoryLimit()
    {
        var report = ParseFile(Fixtures.JetsamMatching("real", "iOS11.3.1"));
        var killed = Assert.Single(report.Killed);
        Assert.Equal(("vmd", 417, "vnode-limit"), (killed.Name, killed.Pid!.Value, killed.Reason!));
        Assert.Equal(["daemon", "idle"], killed.States);
        Assert.Equal(452L * 4096, killed.FootprintBytes);
        Assert.Null(killed.LimitBytes);
    }

    [Fact]
    public void Ios12FrontmostAppKilledByPageShortageIsNotOverItsLimit()
    {
        var report = ParseFile(Fixtures.JetsamMatching("real", "iOS12.4"));
        Assert.Equal("iPhone11,6", report.Product);
        Assert.Equal(16384, report.PageSize);
        Assert.Equal("iPhone OS 12.4 (16G77)", report.OsVersion);
        Assert.Equal(117, report.Processes.Count);
        var killed = report.Killed.ToList();
        Assert.Equal(63, killed.Count);
        Assert.Equal(59, killed.Count(process => process.Reason == "proc-thrashing"));

        var apollo = killed.Single(process => process.Name == "Apollo");
        Assert.Equal("vm-pageshortage", apollo.Reason);
        Assert.Equal(["frontmost", "resume"], apollo.States);
        Assert.Equal(15365L * 16384, apollo.FootprintBytes);
        Assert.Null(apollo.LimitBytes);

        var backboardd = killed.Single(process => process.Reason == "per-process-limit");
        Assert.Equal("backboardd", backboardd.Name);
        Assert.Equal(131282L * 16384, backboardd.FootprintBytes);
        Assert.Equal(2150924288L, backboardd.LimitBytes);
    }

    [Fact]
    public void Ios14ReportWithPrioritiesAndPhysicalPages()
    {
        var report = ParseFile(Fixtures.JetsamMatching("real", "iOS14.2b"));
        Assert.Equal("iPhone12,1", report.Product);
        Assert.Equal("AppStore", report.LargestProcess);
        Assert.Equal(442, report.Processes.Count);
        var killed = report.Killed.ToList();
        Assert.Equal(["wifianalyticsd", "dasd"], killed.Select(process => process.Name));
        Assert.All(killed, process => Assert.Equal("highwater", process.Reason));
        Assert.Equal([1, 3], killed.Select(process => process.Priority!.Value));
        Assert.Equal(456L * 16384, killed[1].LimitBytes);
        Assert.Equal(898L * 16384, killed[1].LifetimeMaxBytes);
    }

    [Fact]
    public void TheBooksTrimmedIos9FragmentIsRejectedAtTheLineWhereItWasCut()
    {
        var result = JetsamParser.Parse(File.ReadAllText(Fixtures.JetsamMatching("real", "FRAGMENT")));
        Assert.False(result.Succeeded);
        Assert.Equal(31, result.Error.Line);
        Assert.Contains("malformed JSON in the report body at line 31", result.Error.Message);
    }

    [Fact]
    public void Ios9EraReportWithTheLegacyThrashingReason()
    {
        var report = ParseFile(Fixtures.JetsamMatching("variants", "iOS9.3"));
        // iOS 9 headers carry no incident_id: the body's incident is used.
        Assert.Equal("A2B3C5FF-8ECC-4E07-BEDA-E847061F396B", report.Incident);
        Assert.Equal("iPhone OS 9.3 (13E234)", report.OsVersion);
        var frontmost = report.Killed.Single(process => process.States.Contains("frontmost"));
        Assert.Equal(("KodiMusicRemoteP", "vm-thrashing"), (frontmost.Name, frontmost.Reason!));
        Assert.Null(frontmost.LimitBytes);
        Assert.Null(frontmost.Priority);
        var mail = report.Killed.Single(process => process.Reason == "per-process-limit");
        Assert.Equal(9050L * 16384, mail.LimitBytes);
    }

    [Fact]
    public void Ios16ReportWithFreezeSkipReasonKeyAndWeChatsFourteenHundredMegabyteLimit()
    {
        var report = ParseFile(Fixtures.JetsamMatching("variants", "iOS16.2"));
        var killed = Assert.Single(report.Killed);
        Assert.Equal(("WeChat", 2541, "per-process-limit"), (killed.Name, killed.Pid!.Value, killed.Reason!));
        Assert.Equal(10, killed.Priority);
        // The arithmetic of WeChat's write-up (Chinese version; docs/design.md): 16384 × 89600 = 1400 MiB.
        Assert.Equal(1400L << 20, killed.LimitBytes);
        Assert.Equal(4, report.Processes.Count);
    }

    [Fact]
    public void Ios18BodyWithoutHeaderLineWithEscapedSlashes()
    {
        var report = ParseFile(Fixtures.JetsamMatching("variants", "iOS18.5"));
        Assert.Equal("298", report.BugType); // iOS 18 repeats bug_type inside the body
        Assert.Equal("iPhone OS 18.5 (22F76)", report.OsVersion); // from the body's build when there is no header
        Assert.Equal("kernel_task", report.LargestProcess);
        var names = report.Killed.Select(process => process.Name).ToList();
        Assert.Equal(["Photos", "ShareExtension/Helper"], names);
        Assert.Null(report.Killed.First().LimitBytes); // vm-pageshortage says nothing about Photos' own limit
        Assert.Equal(7680L * 16384, report.Killed.Last().LimitBytes);
    }

    [Fact]
    public void ReportWithoutAKilledProcess()
    {
        var report = ParseFile(Fixtures.JetsamMatching("variants", "no-kill"));
        Assert.Empty(report.Killed);
        Assert.Equal(2, report.Processes.Count);
        Assert.Equal(4096, report.PageSize);
    }

    [Theory]
    [InlineData("empty.ips", "the file is empty")]
    [InlineData("header-only.ips", "only the one-line header is there")]
    [InlineData("truncated-mid-body.ips", "truncated in the report body at line")]
    [InlineData("bug-type-211-analytics.ips", "bug_type 211 is not a JetsamEvent report")]
    [InlineData("rpages-is-a-string.ips", "processes[1].rpages: is a string (\"89600\"), expected a whole number")]
    [InlineData("missing-page-size.ips", "memoryStatus.pageSize: is missing")]
    [InlineData("killed-without-rpages.ips", "processes[1].rpages: is missing for the killed process WeChat")]
    [InlineData("two-reports-in-one-file.ips", "unexpected content after the report body at line 2221")]
    [InlineData("json-array.json", "the first line is a JSON array")]
    [InlineData("text-crash-report.crash", "malformed JSON in the header line at line 1")]
    public void MalformedReportsGetAnErrorSayingWhatIsWrong(string file, string expected)
    {
        var result = JetsamParser.Parse(File.ReadAllBytes(Fixtures.Jetsam(Path.Combine("malformed", file))));
        Assert.False(result.Succeeded);
        Assert.Contains(expected, result.Error.Message);
    }

    [Fact]
    public void DeeplyNestedHostileInputIsAnErrorNotACrash()
    {
        var hostile = new string('[', 100_000) + new string(']', 100_000);
        var result = JetsamParser.Parse(hostile);
        Assert.False(result.Succeeded);
        Assert.Contains("malformed JSON", result.Error.Message);
    }

    [Fact]
    public void StreamsLargerThanTheCapAreRefusedWithoutReadingThemWhole()
    {
        using var stream = File.OpenRead(Fixtures.JetsamMatching("real", "iOS14.2b"));
        var result = JetsamParser.Parse(stream, maxBytes: 100_000);
        Assert.False(result.Succeeded);
        Assert.Contains("larger than", result.Error.Message);
        Assert.True(stream.Position < 200_000);
    }

    [Fact]
    public void TheStreamAndStringEntryPointsAgree()
    {
        var path = Fixtures.JetsamMatching("real", "iOS12.4");
        using var stream = File.OpenRead(path);
        var fromStream = JetsamParser.Parse(stream);
        var fromText = JetsamParser.Parse(File.ReadAllText(path));
        Assert.True(fromStream.Succeeded && fromText.Succeeded);
        Assert.Equal(fromText.Event.Killed.Select(process => process.FootprintBytes), fromStream.Event.Killed.Select(process => process.FootprintBytes));
    }

    [Fact]
    public void AByteOrderMarkIsIgnored()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(File.ReadAllBytes(Fixtures.JetsamMatching("real", "iOS11.3.1"))).ToArray();
        Assert.True(JetsamParser.Parse(bytes).Succeeded);
    }

    [Fact]
    public void AReportCutAnywhereIsAnErrorNeverAnExceptionOrAWrongReport()
    {
        var whole = File.ReadAllBytes(Fixtures.JetsamMatching("variants", "iOS16.2"));
        var lastBrace = Array.LastIndexOf(whole, (byte)'}');
        Gen.Int[0, lastBrace].Sample(cut =>
        {
            var result = JetsamParser.Parse(whole.AsSpan(0, cut));
            // Whatever is left when the closing brace is gone cannot be a complete report.
            return !result.Succeeded && result.Error.Message.Length > 0;
        }, iter: 300);
    }

    [Fact]
    public void AReportWithAByteChangedAnywhereNeverThrows()
    {
        var whole = File.ReadAllBytes(Fixtures.JetsamMatching("variants", "iOS9.3"));
        Gen.Select(Gen.Int[0, whole.Length - 1], Gen.Byte).Sample((position, value) =>
        {
            var changed = (byte[])whole.Clone();
            changed[position] = value;
            var result = JetsamParser.Parse(changed);
            return result.Succeeded ? result.Event.PageSize > 0 : result.Error.Message.Length > 0;
        }, iter: 500);
    }

    [Theory]
    [InlineData("2019-08-05 17:06:39.78 -0500", 2019, 8, 5, 17, 6, 39, 780, -5)]
    [InlineData("2016-04-15 23:52:13.13 +0200", 2016, 4, 15, 23, 52, 13, 130, 2)]
    [InlineData("2025-05-28 01:35:47.00 -0500", 2025, 5, 28, 1, 35, 47, 0, -5)]
    public void ReportTimestampsParseWithTheirOffset(string text, int year, int month, int day, int hour, int minute, int second, int millisecond, int offsetHours)
    {
        Assert.Equal(new DateTimeOffset(year, month, day, hour, minute, second, millisecond, TimeSpan.FromHours(offsetHours)),
            JetsamParser.ParseTimestamp(text));
    }

    [Fact]
    public void AnUnreadableTimestampIsNullNotAnError() => Assert.Null(JetsamParser.ParseTimestamp("yesterday"));
}
