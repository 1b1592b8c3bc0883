using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Foom.Testing;

namespace Foom.Ring.Tests;

/// <summary>
/// The hook reads CPython 3.11's thread states, frames, code objects and strings at fixed offsets
/// (native/foomhook/python.c, PY311_ constants): each against what gcc makes of 3.11's own headers
/// (Debian's libpython3.11-dev, which ./test installs).
/// </summary>
public partial class PythonLayoutTests
{
    [Fact]
    public void TheHooksCPython311OffsetsAreThoseOfCPythonsHeaders()
    {
        const string headers = "/usr/include/python3.11";
        Assert.True(File.Exists(Path.Combine(headers, "internal", "pycore_frame.h")),
            $"CPython 3.11's headers are not in {headers}: install libpython3.11-dev (./test does)");
        var binary = CProgram.Build("python_layout.c", $"-O0 -I{headers}");
        using var process = Process.Start(new ProcessStartInfo(binary) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        var fromHeaders = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("3.11", fromHeaders["VERSION"]);

        var source = File.ReadAllText(Path.Combine(CProgram.SourceDirectory, "hook", "python.c"));
        var inHook = Py311Constant().Matches(source).ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        var compared = 0;
        foreach (var (name, value) in fromHeaders)
        {
            if (name is "VERSION" or "UNICODE_STATE_BITS") continue;
            Assert.True(inHook.TryGetValue(name, out var hook), $"python.c has no PY311_{name}");
            Assert.True(hook == long.Parse(value, CultureInfo.InvariantCulture), $"PY311_{name} is {hook} in python.c, {value} in CPython's headers");
            compared++;
        }
        Assert.Equal(20, compared);
        // kind (3 bits), compact and ascii all set, read where python.c reads them.
        var expectedState = (7L << (int)inHook["UNICODE_KIND_SHIFT"]) | (1L << (int)inHook["UNICODE_COMPACT_SHIFT"]) | (1L << (int)inHook["UNICODE_ASCII_SHIFT"]);
        Assert.Equal(expectedState.ToString(CultureInfo.InvariantCulture), fromHeaders["UNICODE_STATE_BITS"]);
    }

    [GeneratedRegex(@"^#define PY311_(\w+) (\d+)", RegexOptions.Multiline)]
    private static partial Regex Py311Constant();
}
