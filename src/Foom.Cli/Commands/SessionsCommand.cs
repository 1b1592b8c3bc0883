using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Foom.Cli.Output;
using Foom.Recorder.Exits;
using Foom.Storage.Sessions;
using Spectre.Console;

namespace Foom.Cli.Commands;

/// <summary>
/// `foom sessions [--app ID] [--data DIR] [--format text|json]`: every session in the data
/// directory, newest first, with its end: exit status, exit reason, how it was known and the
/// evidence, limit and peak footprint. A session without an end record is either still running
/// (its recorder or program is alive) or died with its recorder; the app's next `foom run`
/// infers why and writes it into that session. A session.json that cannot be read gets a line
/// on stderr naming it; the rest are listed; the exit status is then 1.
/// </summary>
internal static class SessionsCommand
{
    private const string Ended = "ended";
    private const string Running = "running";
    private const string RecorderDied = "recorder_died";

    public static Command Create()
    {
        var app = new Option<string?>("--app") { Description = "only this app's sessions" };
        var data = new Option<string?>("--data") { Description = "the data directory (default: $FOOM_DATA, else $XDG_DATA_HOME/foom, else ~/.local/share/foom)" };
        var format = OutputFormat.CreateOption();
        var command = new Command("sessions", "List past sessions with their exit reason and evidence") { app, data, format };
        command.SetAction(parse => Run(parse.GetValue(app), parse.GetValue(data), parse.GetValue(format) ?? OutputFormat.Text));
        return command;
    }

    private sealed record Listed(string Directory, SessionInfo Info, string State);

    private static int Run(string? appId, string? dataPath, string format)
    {
        var data = DataDirectory.Resolve(dataPath);
        List<string> apps;
        try
        {
            apps = appId is null ? [.. data.Apps()] : [DataDirectory.ValidateAppId(appId)];
        }
        catch (ArgumentException problem)
        {
            Console.Error.WriteLine($"foom sessions: {problem.Message}");
            return 2;
        }

        var bootId = MachineFacts.BootId();
        var sessions = new List<Listed>();
        var problems = new List<string>();
        foreach (var app in apps)
        {
            var root = data.SessionsDirectory(app);
            if (!Directory.Exists(root)) continue;
            foreach (var directory in Directory.EnumerateDirectories(root))
            {
                if (Path.GetFileName(directory).StartsWith('.')) continue;
                var read = SessionInfoFile.Read(directory);
                if (!read.Ok)
                {
                    problems.Add($"{read.Path}: {read.Problem}");
                    continue;
                }
                var state = read.Info.End is not null ? Ended : SessionLiveness.IsRunning(read.Info, bootId) ? Running : RecorderDied;
                sessions.Add(new Listed(directory, read.Info, state));
            }
        }
        sessions = [.. sessions.OrderByDescending(s => s.Info.StartTime).ThenByDescending(s => s.Info.SessionId, StringComparer.Ordinal)];
        foreach (var problem in problems) Console.Error.WriteLine($"foom sessions: {problem}");

        if (format == OutputFormat.Json) Console.Out.WriteLine(new JsonArray([.. sessions.Select(ToJson)]).ToJsonString(JsonOutput.Options));
        else if (sessions.Count == 0)
            Console.Out.WriteLine(appId is null ? $"no sessions in {data.Root}" : $"no sessions of {appId} in {data.Root}");
        else WriteTable(sessions);
        return problems.Count > 0 ? 1 : 0;
    }

    private static JsonNode ToJson(Listed session)
    {
        var info = session.Info;
        var end = info.End;
        return new JsonObject
        {
            ["session_id"] = info.SessionId,
            ["app_id"] = info.AppId,
            ["app_version"] = info.AppVersion,
            ["pid"] = info.Pid,
            ["command"] = new JsonArray([.. info.Command.Select(argument => (JsonNode?)argument)]),
            ["start_time"] = info.StartTime,
            ["end_time"] = end?.EndTime,
            ["state"] = session.State,
            ["exit_status"] = end?.ExitStatus,
            ["signal"] = end?.Signal,
            ["exit_reason"] = end?.ExitReason,
            ["how"] = end?.How,
            ["evidence"] = end is null ? new JsonArray() : new JsonArray([.. end.Evidence.Select(line => (JsonNode?)line)]),
            ["inferred_by_session"] = end?.InferredBySession,
            ["limit_bytes"] = info.Limit?.Bytes,
            ["limit_source"] = info.Limit?.Source,
            ["peak_footprint_bytes"] = info.PeakFootprintBytes,
            ["last_footprint_bytes"] = info.LastFootprintBytes,
            ["warnings"] = info.Warnings.Count,
            ["oom_score"] = info.OomScore,
            ["oom_score_adj"] = info.OomScoreAdj,
            ["directory"] = session.Directory,
            ["victim_pid"] = end?.VictimPid,
            ["victim_session"] = end?.VictimSession is { } victim ? Path.Combine(session.Directory, victim) : null,
            ["processes"] = new JsonArray([.. (info.Processes ?? []).Select(process => (JsonNode?)new JsonObject
            {
                ["pid"] = process.Pid,
                ["parent_pid"] = process.ParentPid,
                ["command"] = new JsonArray([.. process.Command.Select(argument => (JsonNode?)argument)]),
                ["directory"] = process.Session is { } relative ? Path.Combine(session.Directory, relative) : null,
                ["not_recorded"] = process.NotRecorded,
                ["start_time"] = process.StartTime,
                ["end_time"] = process.EndTime,
                ["exit_reason"] = process.ExitReason,
            })]),
        };
    }

    private static void WriteTable(List<Listed> sessions)
    {
        var table = new Table().AddColumns("session", "app", "started", "duration", "pid", "status", "exit reason", "limit", "peak", "evidence");
        foreach (var index in new[] { 3, 4, 7, 8 }) table.Columns[index].RightAligned();
        foreach (var session in sessions)
        {
            var info = session.Info;
            var end = info.End;
            table.AddRow(
                Markup.Escape(info.SessionId),
                Markup.Escape(info.AppId),
                DateTimeOffset.FromUnixTimeMilliseconds(info.StartTime).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                end is null ? "-" : Duration(end.EndTime - info.StartTime),
                info.Pid.ToString(CultureInfo.InvariantCulture),
                end?.ExitStatus?.ToString(CultureInfo.InvariantCulture) ?? "-",
                Markup.Escape(session.State switch
                {
                    Ended => $"{end!.ExitReason} ({end.How})",
                    Running => "running",
                    _ => "died with the recorder",
                }),
                ByteText.Format(info.Limit?.Bytes),
                ByteText.Format(info.PeakFootprintBytes),
                Markup.Escape(end is not null ? string.Join("\n", end.Evidence)
                    : session.State == RecorderDied ? "no end record: the app's next foom run infers why it ended" : ""));
            // The run's other processes, each in a session of its own under the run's (`foom report DIRECTORY` reads one).
            foreach (var process in info.Processes ?? [])
            {
                table.AddRow(
                    Markup.Escape("  └ " + (process.Session ?? "not recorded")),
                    Markup.Escape(process.Command.Count > 0 ? Path.GetFileName(process.Command[0]) : "?"),
                    DateTimeOffset.FromUnixTimeMilliseconds(process.StartTime).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    process.EndTime is { } ended ? Duration(ended - process.StartTime) : "-",
                    process.Pid.ToString(CultureInfo.InvariantCulture),
                    "-",
                    Markup.Escape(process.ExitReason ?? "-") + (process.Pid == end?.VictimPid ? " [red](the victim)[/]" : ""),
                    "", "",
                    Markup.Escape(process.NotRecorded ?? $"parent {process.ParentPid}"));
            }
        }
        TextConsole.Create().Write(table);
    }

    private static string Duration(long milliseconds)
    {
        var span = TimeSpan.FromMilliseconds(Math.Max(0, milliseconds));
        return span.TotalHours >= 1 ? $"{(int)span.TotalHours}h{span.Minutes:00}m"
            : span.TotalMinutes >= 1 ? $"{span.Minutes}m{span.Seconds:00}s"
            : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.0}s");
    }
}
