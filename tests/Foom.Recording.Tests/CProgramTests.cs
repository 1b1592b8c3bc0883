using System.Diagnostics;
using Foom.Testing;

namespace Foom.Recording.Tests;

public class CProgramTests
{
    [Fact]
    public void TestProgramsAreCompiledAndRunForReal()
    {
        var binary = CProgram.Build("hello.c");
        using var process = Process.Start(new ProcessStartInfo(binary, "7") { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(7, process.ExitCode);
        Assert.Contains("hello from a test program", output);
    }
}
