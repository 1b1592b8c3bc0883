using Foom.Recorder.Recording;
using Foom.Testing;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// Python frames (issue 15, item 3): a Python program killed for memory has the Python function
/// that hoarded as its report's top caller, with its file and line, read from the interpreter's
/// own frames by the hook; a Python the hook cannot read is recorded all the same, and its report
/// says why Python frames are missing.
/// </summary>
public sealed class RunPythonFramesTests : IDisposable
{
    private readonly FoomCli _foom = new();

    private static string Hoarder => Path.Combine(CProgram.SourceDirectory, "dict_hoarder.py");

    /// <summary>The line of dict_hoarder.py that stores into the dict, found by its marker.</summary>
    private static int HoardingLine =>
        File.ReadAllLines(Hoarder).Select((text, index) => (text, index)).Single(l => l.text.Contains("# the hoarding line")).index + 1;

    [Theory]
    // python3 on PATH (a CPython with libpython3.11.so, as pyenv builds it, or Debian's), and
    // Debian's /usr/bin/python3.11, whose interpreter is linked into the executable.
    [InlineData("python3")]
    [InlineData("/usr/bin/python3.11")]
    public async Task APythonDictHoarderKilledInItsCgroupHasThePythonFunctionThatFillsTheDictAsTopCallerWithFileAndLine(string python)
    {
        var app = python == "python3" ? "pyhoard" : "pyhoard-debian";
        var result = await _foom.RunAsync("run", "--limit", "60M", "--app", app, "--", python, Hoarder);
        var session = Assert.Single(_foom.Sessions(app));
        var info = _foom.Info(session);
        Assert.True(result.ExitCode == 137 && info.End?.ExitReason == "foreground_oom", $"{info.End?.ExitReason}\n{result.Describe()}");

        var report = SessionReport.Build(session);
        var python311 = Assert.Single(report.Head.PythonFrames ?? []);
        Assert.True(python311.State == "recorded", python311.Detail);
        Assert.Matches(@"^CPython 3\.11\.\d+: Python frames recorded", python311.Detail);

        var top = report.Callers!.BottomUp[0];
        var callers = string.Join("\n", report.Callers.BottomUp.Take(5).Select(c => $"{c.Function} {c.File}:{c.Line} {c.Size}"));
        Assert.True(top.Function == "py::remember", callers);
        Assert.Equal(Hoarder, top.File);
        Assert.Equal(HoardingLine, top.Line);
        // Most of the live heap is the dict's, and the function that called remember is next.
        Assert.True(top.Size > report.Callers.TotalBytes / 2, callers);
        Assert.Equal("py::serve_forever", top.CalledFrom![0].Function);

        // In a stack, the Python frames follow the interpreter's evaluation frame that runs them,
        // innermost first: remember, serve_forever, main, <module>.
        var stack = report.Items.SelectMany(i => i.Stacks).First(s => s.Frames.Any(f => f.Function == "py::remember"));
        var pythonFrames = stack.Frames.Where(f => f.Function?.StartsWith("py::", StringComparison.Ordinal) == true).Select(f => f.Function).ToList();
        Assert.Equal(["py::remember", "py::serve_forever", "py::main", "py::<module>"], pythonFrames);
        var evaluation = stack.Frames.FindIndex(f => f.Function == "_PyEval_EvalFrameDefault");
        var remember = stack.Frames.FindIndex(f => f.Function == "py::remember");
        Assert.True(evaluation >= 0 && evaluation < remember, string.Join(" ← ", stack.Frames.Select(f => f.Function)));
    }

    [Fact]
    public async Task PythonFramesTurnedOffLeaveTheInterpretersCFunctionAsTopCallerAndTheReportSaysSo()
    {
        _foom.Environment["FOOM_PYTHON_FRAMES"] = "0";
        var result = await _foom.RunAsync("run", "--limit", "60M", "--app", "pyhoard-off", "--", "python3", Hoarder);
        var session = Assert.Single(_foom.Sessions("pyhoard-off"));
        Assert.True(result.ExitCode == 137, result.Describe());
        var report = SessionReport.Build(session);
        var note = Assert.Single(report.Head.PythonFrames ?? []);
        Assert.Equal(("off", "Python frames off: FOOM_PYTHON_FRAMES=0 in the program's environment"), (note.State, note.Detail));
        Assert.DoesNotContain(report.Items.SelectMany(i => i.Stacks).SelectMany(s => s.Frames), f => f.Function?.StartsWith("py::", StringComparison.Ordinal) == true);
        Assert.DoesNotContain("py::", report.Callers!.BottomUp[0].Function ?? "");
    }

    [Theory]
    [InlineData("0x030a0cf0ul", "", "Python frames missing: CPython 3.10.12 is not supported (Python frames are read from CPython 3.11 only)")]
    [InlineData("0x030c0000ul", "", "Python frames missing: CPython 3.12.0 is not supported (Python frames are read from CPython 3.11 only)")]
    [InlineData("0x030b07f0ul", "-without-eval", "Python frames missing: CPython 3.11.7 has no _PyEval_EvalFrameDefault among its dynamic symbols")]
    public async Task APythonTheHookCannotReadIsRecordedAndTheReportSaysWhyPythonFramesAreMissing(string version, string suffix, string why)
    {
        var program = CProgram.Build("python_lookalike.c", $"-O1 -g -rdynamic -DLOOKALIKE_VERSION={version}", suffix);
        var app = "lookalike" + suffix + version[..6];
        var result = await _foom.RunAsync("run", "--app", app, "--", program, "64");
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Equal("64\n", result.Output);
        var report = SessionReport.Build(Assert.Single(_foom.Sessions(app)));
        var note = Assert.Single(report.Head.PythonFrames ?? []);
        Assert.Equal(("missing", why), (note.State, note.Detail));
        // The rest is recorded as without Python: the 64 blocks of 64 KiB, at their C caller.
        var keep = report.Callers!.BottomUp.Single(c => c.Function == "keep_block");
        Assert.Equal((64L << 16, 64L), (keep.Size, keep.Count));
        Assert.Contains(Foom.Report.Views.TextView.Notes(report), n => n == $"pid {note.Pid}: {why}.");
    }

    public void Dispose() => _foom.Dispose();
}
