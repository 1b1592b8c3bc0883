using Foom.Report.Building;
using Foom.Report.Tests.Support;
using Foom.Storage.Stacks;

namespace Foom.Report.Tests;

/// <summary>The head's figures disagree only with a sentence saying why.</summary>
public sealed class FigureNotesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("foom-figures-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private Model.Report BuildWithLive(string id, long blockBytes, Action<Foom.Storage.Sessions.SessionInfo>? change = null)
    {
        var directory = Path.Combine(_root, id);
        using (var tables = Foom.Storage.SessionTables.Create(directory))
        {
            var app = tables.Modules.Load("/opt/chat/bin/chat", TestSessions.MainBuildId, TestSessions.MainBase, TestSessions.MainBase, 0x10_000);
            tables.Live.InsertHeap(0x1000_0000, (ulong)blockBytes, tables.Stacks.Intern([new Frame(app, 0x1234)]));
        }
        var info = TestSessions.Info(id);
        change?.Invoke(info);
        TestSessions.WriteInfo(directory, info);
        return ReportBuilder.Build(directory, SessionMarks.None, new ReportBuildOptions { Symbolizer = null });
    }

    [Fact]
    public void LiveAboveTheLimitAndAFootprintBelowThePeakAreExplained()
    {
        var report = BuildWithLive("over", 1L << 30);
        var notes = report.Head.FigureNotes!;
        Assert.Equal(2, notes.Count);
        Assert.StartsWith("live (1.00 GiB) is more than the limit (256.00 MiB)", notes[0]);
        Assert.Contains("reserved", notes[0]);
        Assert.StartsWith("the footprint (249.00 MiB) is the recorder's last sample and the peak (250.00 MiB) its highest", notes[1]);
        Assert.Contains("before the kill", notes[1]);
        Assert.Contains(Foom.Report.Views.TextView.Notes(report), n => n.StartsWith("live (1.00 GiB) is more than the limit", StringComparison.Ordinal));
    }

    [Fact]
    public void FiguresThatAgreeGetNoNote()
    {
        var report = BuildWithLive("agree", 100L << 20, info => info.LastFootprintBytes = info.PeakFootprintBytes);
        Assert.Null(report.Head.FigureNotes);
    }
}
