using System.Text.Json;
using Foom.Ios.Tests.Support;
using Foom.Testing;

namespace Foom.Ios.Tests.Jetsam;

/// <summary>`foom jetsam` as users run it: the real program on real and broken files.</summary>
public sealed class JetsamCommandTests : IDisposable
{
    private readonly FoomCli _foom = new();

    public void Dispose() => _foom.Dispose();

    [Fact]
    public void JsonHasOneObjectPerFileWithTheFieldsTheIssueLists()
    {
        var ios12 = Fixtures.JetsamMatching("real", "iOS12.4");
        var ios10 = Fixtures.JetsamMatching("real", "iOS10.1.1");
        var run = _foom.Run("jetsam", "--format", "json", ios10, ios12);
        Assert.True(run.ExitCode == 0, run.Errors);

        using var json = JsonDocument.Parse(run.Output);
        var files = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, files.Count);
        var first = files[0];
        Assert.Equal(ios10, first.GetProperty("file").GetString());
        foreach (var field in new[] { "bug_type", "os_version", "product", "incident", "date", "page_size", "largest_process", "memory_status", "processes_killed" })
            Assert.True(first.TryGetProperty(field, out _), $"missing {field}");
        Assert.Equal("298", first.GetProperty("bug_type").GetString());
        Assert.Equal("2017-06-30 12:37:23.08 +0100", first.GetProperty("date").GetString());
        Assert.Equal(6172, first.GetProperty("memory_status").GetProperty("free").GetInt64());
        Assert.Equal(25796, first.GetProperty("memory_status").GetProperty("file_backed").GetInt64());

        var springBoard = Assert.Single(first.GetProperty("processes_killed").EnumerateArray());
        Assert.Equal("SpringBoard", springBoard.GetProperty("name").GetString());
        Assert.Equal(22873, springBoard.GetProperty("pid").GetInt32());
        Assert.Equal("highwater", springBoard.GetProperty("reason").GetString());
        Assert.Equal(0, springBoard.GetProperty("states").GetArrayLength());
        Assert.Equal(61443, springBoard.GetProperty("rpages").GetInt64());
        Assert.Equal(61443L * 4096, springBoard.GetProperty("footprint_bytes").GetInt64());
        Assert.Equal(24516L * 4096, springBoard.GetProperty("lifetime_max_bytes").GetInt64());
        Assert.Equal(61443L * 4096, springBoard.GetProperty("limit_bytes").GetInt64());

        var apollo = files[1].GetProperty("processes_killed").EnumerateArray().Single(process => process.GetProperty("name").GetString() == "Apollo");
        Assert.Equal(JsonValueKind.Null, apollo.GetProperty("limit_bytes").ValueKind);
    }

    [Fact]
    public void BrokenFilesAreNamedOnStderrTheOthersStillPrintedAndTheStatusIsNonZero()
    {
        var good = Fixtures.JetsamMatching("real", "iOS11.3.1");
        var truncated = Fixtures.Jetsam("malformed/truncated-mid-body.ips");
        var headerOnly = Fixtures.Jetsam("malformed/header-only.ips");
        var missing = Path.Combine(Path.GetTempPath(), "foom-no-such-jetsam-" + Guid.NewGuid().ToString("N") + ".ips");

        var run = _foom.Run("jetsam", "--format", "json", truncated, good, headerOnly, missing);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"{truncated}: truncated in the report body", run.Errors);
        Assert.Contains($"{headerOnly}: only the one-line header is there", run.Errors);
        Assert.Contains($"{missing}: cannot be read", run.Errors);

        using var json = JsonDocument.Parse(run.Output);
        var files = json.RootElement.EnumerateArray().ToList();
        Assert.Equal([truncated, good, headerOnly, missing], files.Select(file => file.GetProperty("file").GetString()));
        Assert.Equal("vmd", files[1].GetProperty("processes_killed")[0].GetProperty("name").GetString());
        Assert.StartsWith("truncated", files[0].GetProperty("error").GetString());
        Assert.False(files[0].TryGetProperty("processes_killed", out _));
    }

    [Fact]
    public void TextFormatIsATablePerFile()
    {
        var run = _foom.Run("jetsam", Fixtures.JetsamMatching("real", "iOS12.4"), Fixtures.JetsamMatching("variants", "no-kill"));
        Assert.True(run.ExitCode == 0, run.Errors);
        var lines = run.Output.Split('\n');
        Assert.Contains(lines, line => line.Contains("device") && line.Contains("iPhone11,6"));
        Assert.Contains(lines, line => line.Contains("page size") && line.Contains("16384"));
        Assert.Contains(lines, line => line.Contains("│ backboardd") && line.Contains("per-process-limit") && line.Contains("2.00 GiB"));
        Assert.Contains(lines, line => line.Contains("│ Apollo") && line.Contains("vm-pageshortage") && line.Contains("240.1 MiB"));
        Assert.Contains("no process was killed in this event", run.Output);
    }

    [Fact]
    public void AnUnknownFormatIsRefused()
    {
        var run = _foom.Run("jetsam", "--format", "xml", Fixtures.JetsamMatching("real", "iOS11.3.1"));
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("xml", run.Errors);
    }
}
