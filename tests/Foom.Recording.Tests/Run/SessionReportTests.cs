using Foom.Recorder.Recording;
using Foom.Report.Building;
using Foom.Ring;

namespace Foom.Recording.Tests.Run;

/// <summary>The marks a session's event ring gives its report: read by the recorder side and handed to the report builder as data.</summary>
public sealed class SessionReportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("foom-session-marks-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public unsafe void TheRingGivesTheLastSceneAndTheDroppedEvents()
    {
        var path = Path.Combine(_directory, EventRing.SessionFileName);
        using (var ring = EventRing.Create(path, EventRing.MinimumDataSize))
        {
            // What the hook writes when the program calls foom_set_scene("ChatView") and the ring overflows.
            ref var header = ref ring.Header;
            var scene = "ChatView"u8;
            fixed (byte* field = header.Scene) scene.CopyTo(new Span<byte>(field, RingLayout.SceneSize));
            header.SceneSequence = 2;
            header.DroppedEvents = 12;
        }

        Assert.Equal(new SessionMarks("ChatView", 12), SessionReport.ReadMarks(_directory));

        // A damaged ring costs the scene and says which file, never an exception.
        using (var file = new FileStream(path, FileMode.Open)) file.SetLength(64);
        var damaged = SessionReport.ReadMarks(_directory);
        Assert.Null(damaged.Scene);
        Assert.Contains("ring.foom", damaged.Problem);
        Assert.Contains("scene", damaged.Problem);
    }

    [Fact]
    public void ASessionWithoutARingHasNoMarks() =>
        Assert.Same(SessionMarks.None, SessionReport.ReadMarks(_directory));
}
