using System.Text.Json;
using Foom.Recorder.Exits;
using Foom.Testing;
using Foom.Storage.Sessions;

namespace Foom.Cli.Tests;

/// <summary>`foom sessions` over a real data directory, run as users run it.</summary>
public sealed class SessionsCommandTests : IDisposable
{
    private const long MiB = 1 << 20;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "foom-sessions-" + Guid.NewGuid().ToString("N"));
    private readonly DataDirectory _data;
    private readonly long _now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public SessionsCommandTests()
    {
        _data = new DataDirectory(_root);
        // Oldest first: an observed OOM, an inferred one, a run whose recorder died, one still running.
        Store("app", "s1-oom", _now - 40_000, info =>
        {
            info.Limit = new MemoryLimit { Bytes = 64 * MiB, Source = "cgroup-v1", Cgroup = "/foom-app" };
            info.PeakFootprintBytes = 63 * MiB;
            info.End = new SessionEnd
            {
                EndTime = _now - 35_000, ExitStatus = 137, Signal = 9, ExitReason = "foreground_oom", How = "observed",
                Evidence = ["killed by SIGKILL (9)", "kernel: Memory cgroup out of memory: Killed process 4242 (app)"],
            };
        });
        Store("app", "s2-inferred", _now - 30_000, info =>
            info.End = new SessionEnd { EndTime = _now - 29_000, ExitReason = "os_reboot", How = "inferred", Evidence = ["the machine rebooted"], InferredBySession = "s4-running" });
        Store("app", "s3-died", _now - 20_000);
        Store("app", "s4-running", _now, info => info.RecorderPid = Environment.ProcessId);
        Store("other", "o1", _now - 50_000, info => info.End = new SessionEnd { EndTime = _now - 49_000, ExitStatus = 0, ExitReason = "exit", How = "observed", Evidence = ["exited with status 0"] });
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Store(string app, string id, long start, Action<SessionInfo>? change = null)
    {
        var info = new SessionInfo
        {
            SessionId = id, AppId = app, StartTime = start, Pid = 1 << 23, RecorderPid = (1 << 23) + 1, BootId = MachineFacts.BootId(),
            Command = ["/usr/bin/app", "--flag"],
        };
        change?.Invoke(info);
        var directory = Path.Combine(_data.SessionsDirectory(app), id);
        Directory.CreateDirectory(directory);
        SessionInfoFile.Write(directory, info);
    }

    private CliResult Foom(params string[] arguments) => new FoomCli(_root).Run(arguments);

    [Fact]
    public void JsonListsEverySessionNewestFirstWithItsEnd()
    {
        var run = Foom("sessions", "--format", "json");
        Assert.True(run.ExitCode == 0, run.Errors);
        using var json = JsonDocument.Parse(run.Output);
        var sessions = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(["s4-running", "s3-died", "s2-inferred", "s1-oom", "o1"], sessions.Select(s => s.GetProperty("session_id").GetString()));

        var oom = sessions[3];
        foreach (var field in new[] { "session_id", "app_id", "start_time", "end_time", "exit_status", "exit_reason", "how", "evidence", "limit_bytes", "peak_footprint_bytes" })
            Assert.True(oom.TryGetProperty(field, out _), $"missing {field}");
        Assert.Equal(("app", "foreground_oom", "observed", "ended"), (oom.GetProperty("app_id").GetString(), oom.GetProperty("exit_reason").GetString(), oom.GetProperty("how").GetString(), oom.GetProperty("state").GetString()));
        Assert.Equal(137, oom.GetProperty("exit_status").GetInt32());
        Assert.Equal(_now - 40_000, oom.GetProperty("start_time").GetInt64());
        Assert.Equal(_now - 35_000, oom.GetProperty("end_time").GetInt64());
        Assert.Equal(64 * MiB, oom.GetProperty("limit_bytes").GetInt64());
        Assert.Equal(63 * MiB, oom.GetProperty("peak_footprint_bytes").GetInt64());
        Assert.Equal(2, oom.GetProperty("evidence").GetArrayLength());

        var inferred = sessions[2];
        Assert.Equal(("os_reboot", "inferred", "s4-running"), (inferred.GetProperty("exit_reason").GetString(), inferred.GetProperty("how").GetString(), inferred.GetProperty("inferred_by_session").GetString()));
        Assert.Equal(JsonValueKind.Null, inferred.GetProperty("exit_status").ValueKind);

        // Unknown is null, not zero.
        var died = sessions[1];
        Assert.Equal("recorder_died", died.GetProperty("state").GetString());
        foreach (var field in new[] { "end_time", "exit_status", "exit_reason", "how", "limit_bytes", "peak_footprint_bytes" })
            Assert.Equal(JsonValueKind.Null, died.GetProperty(field).ValueKind);
        Assert.Equal("running", sessions[0].GetProperty("state").GetString());
    }

    [Fact]
    public void TextShowsReasonsEvidenceAndTheUnfinished()
    {
        var run = Foom("sessions", "--app", "app");
        Assert.True(run.ExitCode == 0, run.Errors);
        var lines = run.Output.Split('\n');
        Assert.Contains(lines, line => line.Contains("s1-oom") && line.Contains("foreground_oom (observed)") && line.Contains("64.0 MiB") && line.Contains("killed by SIGKILL (9)"));
        Assert.Contains(lines, line => line.Contains("kernel: Memory cgroup out of memory: Killed process 4242 (app)"));
        Assert.Contains(lines, line => line.Contains("s2-inferred") && line.Contains("os_reboot (inferred)"));
        Assert.Contains(lines, line => line.Contains("s3-died") && line.Contains("died with the recorder"));
        Assert.Contains(lines, line => line.Contains("s4-running") && line.Contains("running"));
        Assert.DoesNotContain("o1", run.Output);
    }

    [Fact]
    public void ACorruptSessionFileIsNamedAndTheRestStillListed()
    {
        var broken = Path.Combine(_data.SessionsDirectory("app"), "broken");
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, "session.json"), "{\"format_version\": 1, \"session_id\": \"broken\", \"start_ti");
        var noFile = Path.Combine(_data.SessionsDirectory("app"), "empty-dir");
        Directory.CreateDirectory(noFile);

        var run = Foom("sessions", "--format", "json", "--app", "app");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"foom sessions: {Path.Combine(broken, "session.json")}: is not valid session JSON", run.Errors);
        Assert.Contains($"foom sessions: {Path.Combine(noFile, "session.json")}: is missing", run.Errors);
        using var json = JsonDocument.Parse(run.Output);
        Assert.Equal(4, json.RootElement.GetArrayLength());
    }

    [Fact]
    public void TheDataOptionAndBadAppIdsAreHonoured()
    {
        var elsewhere = new FoomCli("/nonexistent/foom").Run("sessions", "--data", _root, "--app", "other", "--format", "json");
        Assert.True(elsewhere.ExitCode == 0, elsewhere.Errors);
        Assert.Equal(["o1"], JsonDocument.Parse(elsewhere.Output).RootElement.EnumerateArray().Select(s => s.GetProperty("session_id").GetString()));

        var hostile = Foom("sessions", "--app", "../etc");
        Assert.Equal(2, hostile.ExitCode);
        Assert.Contains("app id '../etc' is not valid", hostile.Errors);

        var empty = new FoomCli(Path.Combine(_root, "none")).Run("sessions");
        Assert.Equal(0, empty.ExitCode);
        Assert.Contains("no sessions in", empty.Output);
    }

    [Fact]
    public void AVerdictInferredAtTheNextLaunchShowsUpInTheListing()
    {
        Assert.Single(PreviousRuns.Judge(_data, "app", new LaunchContext("s5", MachineFacts.BootId(), null, null, _now)).Judged);
        var run = Foom("sessions", "--format", "json", "--app", "app");
        var died = JsonDocument.Parse(run.Output).RootElement.EnumerateArray().Single(s => s.GetProperty("session_id").GetString() == "s3-died");
        Assert.Equal(("ended", "unknown", "inferred", "s5"), (died.GetProperty("state").GetString(), died.GetProperty("exit_reason").GetString(), died.GetProperty("how").GetString(), died.GetProperty("inferred_by_session").GetString()));
    }
}
