using System.Text.Json;
using Foom.Report.IO;
using Foom.Storage;
using Foom.Storage.Sessions;
using Foom.Storage.Stacks;

namespace Foom.Report.Tests.Support;

/// <summary>
/// Session directories written through the real storage engine (SessionTables), with a
/// session.json beside them, as the recorder leaves them.
/// </summary>
internal static class TestSessions
{
    public const string MainBuildId = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    public const string LibcBuildId = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";
    public const ulong MainBase = 0x5555_0000_0000;
    public const ulong LibcBase = 0x7f00_0000_0000;

    public static SessionInfo Info(string sessionId, string app = "chat") => new()
    {
        SessionId = sessionId,
        AppId = app,
        AppVersion = "2.1.0",
        Pid = 4242,
        RecorderPid = 4241,
        Command = ["/opt/chat/bin/chat", "--big"],
        StartTime = 1_760_000_000_000,
        Host = "build-host",
        DeviceId = "device-7",
        UserId = "alice",
        KernelRelease = "6.1.0-18-amd64",
        MainBinary = "/opt/chat/bin/chat",
        MainBuildId = MainBuildId,
        Limit = new MemoryLimit { Bytes = 256L << 20, Source = "cgroup-v2", Cgroup = "/sys/fs/cgroup/foom-1" },
        PeakFootprintBytes = 250L << 20,
        LastFootprintBytes = 249L << 20,
        Warnings = [new MemoryWarning { Time = 1_760_000_030_000, FootprintBytes = 200L << 20, LimitBytes = 256L << 20, Source = "threshold" }],
        End = new SessionEnd
        {
            EndTime = 1_760_000_060_000, ExitStatus = 137, Signal = 9, ExitReason = "foreground_oom", How = "observed",
            Evidence = ["memory.events oom_kill 0 -> 1", "kernel: Memory cgroup out of memory: Killed process 4242 (chat)"],
        },
    };

    public static void WriteInfo(string directory, SessionInfo info)
    {
        Directory.CreateDirectory(directory);
        ReportWriter.WriteAtomically(Path.Combine(directory, SessionDirectories.InfoFileName), JsonSerializer.SerializeToUtf8Bytes(info));
    }

    /// <summary>Creates the tables in <paramref name="directory"/> with the app and libc loaded, lets <paramref name="fill"/> write, and closes them cleanly.</summary>
    public static void Write(string directory, SessionInfo info, Action<SessionWriter> fill, int initialLiveSlots = 1 << 16)
    {
        using (var tables = SessionTables.Create(directory, initialLiveSlots))
            fill(new SessionWriter(tables));
        WriteInfo(directory, info);
    }
}

/// <summary>Writes allocations the way the recorder's event applier does.</summary>
internal sealed class SessionWriter
{
    private ulong _nextAddress = 0x1000_0000;
    private ulong _nextMapping = 0x7e00_0000_0000;

    public SessionWriter(SessionTables tables)
    {
        Tables = tables;
        Main = tables.Modules.Load("/opt/chat/bin/chat", TestSessions.MainBuildId, TestSessions.MainBase, TestSessions.MainBase, 0x20_0000);
        Libc = tables.Modules.Load("/usr/lib/x86_64-linux-gnu/libc.so.6", TestSessions.LibcBuildId, TestSessions.LibcBase, TestSessions.LibcBase, 0x1c_0000);
    }

    public SessionTables Tables { get; }
    public int Main { get; }
    public int Libc { get; }

    /// <summary>A stack: libc's malloc innermost, then the app's frames at these offsets (innermost first).</summary>
    public int Stack(params ulong[] appOffsets)
    {
        var frames = new Frame[appOffsets.Length + 1];
        frames[0] = new Frame(Libc, 0x9a0e0);
        for (var i = 0; i < appOffsets.Length; i++) frames[i + 1] = new Frame(Main, appOffsets[i]);
        return Tables.Stacks.Intern(frames);
    }

    public void Malloc(int stack, ulong size, int times = 1, string? type = null)
    {
        var category = type is null ? 0 : Tables.Categories.Intern(type);
        for (var i = 0; i < times; i++)
        {
            Tables.Live.InsertHeap(_nextAddress, size, stack, category);
            _nextAddress += (size + 15) & ~15UL;
            _nextAddress += 16;
        }
    }

    public void Map(int stack, ulong length, string kind)
    {
        Tables.Live.InsertMapping(_nextMapping, length, stack, Tables.Categories.Intern(kind));
        _nextMapping += (length + 0xfff) & ~0xfffUL;
        _nextMapping += 0x1000;
    }
}
