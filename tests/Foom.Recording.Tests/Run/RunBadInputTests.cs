using Foom.Testing;

namespace Foom.Recording.Tests.Run;

/// <summary>Odd command lines and programs Foom cannot record: a clear message and the right status.</summary>
public sealed class RunBadInputTests : IDisposable
{
    private readonly FoomCli _foom = new();

    [Fact]
    public async Task AMissingProgramGets127AndSaysSo()
    {
        var result = await _foom.RunAsync("run", "--", "no-such-program-anywhere");
        Assert.Equal(127, result.ExitCode);
        Assert.Contains("no-such-program-anywhere", result.Errors);
        Assert.Contains("not found", result.Errors);
    }

    [Fact]
    public async Task AFileThatIsNotExecutableGets126()
    {
        var file = Path.Combine(_foom.DataDirectory, "notes.txt");
        File.WriteAllText(file, "not a program");
        var result = await _foom.RunAsync("run", "--", file);
        Assert.Equal(126, result.ExitCode);
        Assert.Contains("not executable", result.Errors);
    }

    [Fact]
    public async Task AnUnwritableDataDirectoryGets73AndNamesIt()
    {
        var blocker = Path.Combine(_foom.DataDirectory, "a-file");
        File.WriteAllText(blocker, "");
        var program = CProgram.Build("hello.c");
        var result = await _foom.RunAsync("run", "--data", Path.Combine(blocker, "data"), "--", program);
        Assert.Equal(73, result.ExitCode);
        Assert.Contains(blocker, result.Errors);
        Assert.DoesNotContain("hello from a test program", result.Output);
    }

    [Theory]
    [InlineData("--limit", "lots", "--limit")]
    [InlineData("--warn-at", "1.5", "--warn-at")]
    [InlineData("--warn-signal", "SIGNOPE", "--warn-signal")]
    [InlineData("--app", "../escape", "--app")]
    public async Task BadOptionsAreRefusedBeforeAnythingRuns(string option, string value, string named)
    {
        var program = CProgram.Build("hello.c");
        var result = await _foom.RunAsync("run", option, value, "--", program);
        Assert.Equal(64, result.ExitCode);
        Assert.Contains(named, result.Errors);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task AStaticallyLinkedProgramRunsUnrecordedAndTheSessionSaysWhy()
    {
        var program = CProgram.Build("signals.c", "-O1 -static", "-static");
        var result = await _foom.RunAsync("run", "--app", "static", "--", program, "exit", "5");
        Assert.Equal(5, result.ExitCode);
        Assert.Contains("statically linked", result.Errors);
        var info = _foom.OnlySession("static");
        Assert.Equal("exit", info.End!.ExitReason);
        Assert.Contains(info.RecordingNotes!, note => note.Contains("statically linked"));

        // Its report says that nothing could be recorded and why, beside the verdict.
        var report = Foom.Recorder.Recording.SessionReport.Build(Assert.Single(_foom.Sessions("static")), new() { Symbolizer = null });
        Assert.Equal("exit", report.Head.ExitReason);
        Assert.Contains("allocations could not be recorded", report.Head.NotRecorded);
        Assert.Contains("statically linked", report.Head.NotRecorded);
        Assert.Contains(Foom.Report.Views.TextView.Notes(report), n => n.StartsWith("allocations could not be recorded", StringComparison.Ordinal));
        Assert.Contains("\"not_recorded\"", System.Text.Encoding.UTF8.GetString(Foom.Report.IO.ReportJson.ToUtf8(report)));
    }

    public void Dispose() => _foom.Dispose();
}
