using System.Globalization;
using System.Text.Json;
using Foom.Recording.Tests.Support;

using Foom.Testing;
using Foom.Interop;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// Issue 16, item 3: a `foom run` killed in its first moments leaves a session that is listed,
/// reported and judged at the next launch. Failed before session.json was written ahead of the
/// program's start: killed within about 0.15 s, the directory held tables and no session.json,
/// `foom sessions` left it out and `foom report DIR` said "not a session directory".
/// </summary>
public sealed class RunEarlyKillTests : IDisposable
{
    private readonly FoomCli _foom = new();

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(20)]
    [InlineData(50)]
    [InlineData(100)]
    [InlineData(150)]
    [InlineData(300)]
    public async Task ARunKilledEarlyIsListedReportedAndJudgedAtTheNextLaunch(int killAfterMilliseconds)
    {
        var app = $"early-{killAfterMilliseconds}";
        // A sleep no other test starts, so that it can be found (and ended) if it outlived its recorder.
        var sleepFor = string.Create(CultureInfo.InvariantCulture, $"600.{Random.Shared.Next(1_000_000, 9_999_999)}");
        using (var foom = _foom.Start("run", "--app", app, "--", "/bin/sleep", sleepFor))
        {
            await Task.Delay(killAfterMilliseconds, TestContext.Current.CancellationToken);
            Processes.kill(foom.Id, 9);
            await foom.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
        foreach (var pid in ProcessesRunning("/bin/sleep", sleepFor)) Processes.kill(pid, 9);

        // A directory still named .ID is one killed before its session.json was renamed into place.
        var sessions = _foom.Sessions(app).Where(directory => !Path.GetFileName(directory).StartsWith('.')).ToList();
        // Killed before it made the session's directory: there is no run to speak of.
        if (sessions.Count == 0) return;
        var session = Assert.Single(sessions);
        Assert.True(File.Exists(Path.Combine(session, "session.json")), $"{session} has no session.json: {string.Join(", ", Directory.GetFiles(session).Select(Path.GetFileName))}");

        var listed = await _foom.RunAsync("sessions", "--app", app, "--format", "json");
        Assert.True(listed.ExitCode == 0, listed.Describe());
        using (var json = JsonDocument.Parse(listed.Output))
            Assert.Equal(Path.GetFileName(session), Assert.Single(json.RootElement.EnumerateArray().ToList()).GetProperty("session_id").GetString());

        var report = await _foom.RunAsync("report", session);
        Assert.DoesNotContain("not a session directory", report.Errors);
        Assert.True(report.ExitCode == 0 || report.Errors.Contains(session), report.Describe());

        var next = await _foom.RunAsync("run", "--app", app, "--", "/bin/sleep", "0");
        Assert.True(next.ExitCode == 0, next.Describe());
        var end = _foom.Info(session).End;
        Assert.NotNull(end);
        Assert.Equal("inferred", end.How);
    }

    /// <summary>The pids of processes whose command line is exactly <paramref name="arguments"/>.</summary>
    private static List<int> ProcessesRunning(params string[] arguments)
    {
        var wanted = string.Join('\0', arguments) + "\0";
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(directory, "cmdline")) == wanted) found.Add(pid);
            }
            catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile.
            }
        }
        return found;
    }

    public void Dispose() => _foom.Dispose();
}
