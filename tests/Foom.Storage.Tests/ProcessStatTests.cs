using System.Diagnostics;
using Foom.Storage.Sessions;

namespace Foom.Storage.Tests;

public class ProcessStatTests
{
    [Fact]
    public void FieldsAreCountedAfterTheLastParenthesisOfTheName()
    {
        // A program may call itself anything: "a) S 1 (b" must not shift the fields.
        var line = "4242 (a) S 1 (b) R 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345 67 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n";
        var stat = ProcessStat.Parse(line);
        Assert.NotNull(stat);
        Assert.Equal('R', stat.Value.State);
        Assert.Equal(17, stat.Value.ParentPid);
        Assert.Equal(4194560u, stat.Value.Flags);
        Assert.Equal(987654, stat.Value.StartTicks);
        Assert.False(stat.Value.IsZombie);

        Assert.True(ProcessStat.Parse(line.Replace(") R 17", ") Z 17", StringComparison.Ordinal))!.Value.IsZombie);
        Assert.Null(ProcessStat.Parse("4242 (cut short) S 1 2"));
        Assert.Null(ProcessStat.Parse("no name at all"));
    }

    [Fact]
    public void ALiveChildReadsAsOursAndAGoneOneAsNothing()
    {
        using var child = Process.Start("sleep", "30");
        var stat = ProcessStat.Read(child.Id);
        Assert.NotNull(stat);
        Assert.Equal(Environment.ProcessId, stat.Value.ParentPid);
        // Started after this test process.
        Assert.True(stat.Value.StartTicks >= ProcessStat.Read(Environment.ProcessId)!.Value.StartTicks);

        child.Kill();
        child.WaitForExit();
        Assert.Null(ProcessStat.Read(child.Id));
        Assert.Null(ProcessStat.Read(0));
    }
}
