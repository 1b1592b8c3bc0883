using System.Text;
using System.Text.Json;
using Foom.Storage.Sessions;
using Foom.Storage.Tests.Support;
using Foom.Testing;

namespace Foom.Storage.Tests;

/// <summary>
/// session.json is read and written with compile-time serializer metadata (SessionInfoJson);
/// files written before, by the reflection-based serializer, and readers elsewhere (the server,
/// scripts) must not see a difference.
/// </summary>
public class SessionInfoFileTests
{
    [Fact]
    public void WritesWhatTheReflectionSerializerWrote()
    {
        using var temp = new TempDirectory();
        var info = Populated();
        SessionInfoFile.Write(temp.Path, info);

        var reflection = JsonSerializer.Serialize(info, new JsonSerializerOptions { WriteIndented = true, TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() });
        Assert.Equal(reflection, File.ReadAllText(SessionInfoFile.PathIn(temp.Path), Encoding.UTF8));
    }

    [Fact]
    public void ReadsBackEveryFieldAndKeepsUnknownOnes()
    {
        using var temp = new TempDirectory();
        SessionInfoFile.Write(temp.Path, Populated());

        var read = SessionInfoFile.Read(temp.Path);

        Assert.True(read.Ok, read.Problem);
        var info = read.Info;
        Assert.Equal("20260101T000000.000-abcdef", info.SessionId);
        Assert.Equal(["/usr/bin/prog", "--name", "naïve ☃ \"quoted\""], info.Command);
        Assert.Equal(512L << 20, info.Limit!.Bytes);
        Assert.Equal("cgroup", info.Limit.Source);
        Assert.Equal(2, info.Warnings.Count);
        Assert.Equal("pressure", info.Warnings[1].Source);
        Assert.Null(info.Warnings[1].LimitBytes);
        Assert.Equal("foreground_oom", info.End!.ExitReason);
        Assert.Equal(["oom_kill line", "cgroup oom_kill 1"], info.End.Evidence);
        Assert.Equal(9, info.End.Signal);
        Assert.Equal(3, info.RingLeftovers!.EventsApplied);
        Assert.Equal(1.5, info.WatchdogSeconds);
        // A field a newer Foom wrote survives this one's rewrite.
        Assert.Equal("kept", info.Extra!["from_a_newer_foom"].GetString());
    }

    [Fact]
    public void TruncatedFileNamesTheFileAndSaysWhy()
    {
        using var temp = new TempDirectory();
        SessionInfoFile.Write(temp.Path, Populated());
        var path = SessionInfoFile.PathIn(temp.Path);
        var whole = File.ReadAllBytes(path);
        File.WriteAllBytes(path, whole.AsSpan(0, whole.Length / 2).ToArray());

        var read = SessionInfoFile.Read(temp.Path);

        Assert.False(read.Ok);
        Assert.Equal(path, read.Path);
        Assert.Contains("is not valid session JSON", read.Problem);
    }

    [Fact]
    public void WrongTypeInAFieldNamesTheField()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(SessionInfoFile.PathIn(temp.Path), """{"format_version": 1, "session_id": "s", "app_id": "a", "pid": "not a number"}""");

        var read = SessionInfoFile.Read(temp.Path);

        Assert.False(read.Ok);
        Assert.Contains("at $.pid", read.Problem);
    }

    private static SessionInfo Populated() => new()
    {
        SessionId = "20260101T000000.000-abcdef",
        AppId = "chat-app",
        AppVersion = "1.2.3+build",
        Pid = 4242,
        RecorderPid = 4241,
        Command = ["/usr/bin/prog", "--name", "naïve ☃ \"quoted\""],
        StartTime = 1_767_225_600_000,
        Host = "host<&>",
        DeviceId = "0123456789abcdef0123456789abcdef",
        UserId = "user@example",
        BootId = "b00t",
        KernelRelease = "6.1.0",
        OsVersion = "Debian GNU/Linux 12",
        MainBinary = "/usr/bin/prog",
        MainBuildId = "deadbeef",
        Limit = new MemoryLimit { Bytes = 512L << 20, Source = "cgroup", Cgroup = "/sys/fs/cgroup/memory/foom-x" },
        OomScore = 667,
        OomScoreAdj = 0,
        PeakFootprintBytes = 500L << 20,
        LastFootprintBytes = 499L << 20,
        LastFootprintTime = 1_767_225_601_000,
        DebuggerSeen = true,
        WatchdogSeconds = 1.5,
        Warnings =
        [
            new MemoryWarning { Time = 1, FootprintBytes = 400L << 20, LimitBytes = 512L << 20, Source = "threshold" },
            new MemoryWarning { Time = 2, FootprintBytes = 450L << 20, Source = "pressure" },
        ],
        DroppedEvents = 7,
        RecordingNotes = ["a note"],
        RingLeftovers = new RingLeftoverRecord { Time = 3, BySession = "next", EventsApplied = 3, AbandonedBytes = 64, Notes = ["n"] },
        End = new SessionEnd
        {
            EndTime = 1_767_225_602_000,
            Signal = 9,
            ExitReason = "foreground_oom",
            How = "observed",
            Evidence = ["oom_kill line", "cgroup oom_kill 1"],
            InferredBySession = null,
        },
        Extra = new Dictionary<string, JsonElement> { ["from_a_newer_foom"] = JsonDocument.Parse("\"kept\"").RootElement },
    };
}
