using System.CommandLine;
using System.Globalization;
using Foom.Recorder.Launch;
using Foom.Recorder.Recording;
using Foom.Report.Views;
using Foom.Storage.Sessions;

namespace Foom.Cli.Commands;

internal static class RunCommand
{
    public static Command Create()
    {
        var limit = new Option<string?>("--limit")
        {
            Description = "Run PROGRAM in a memory cgroup with this limit (e.g. 512M, 2G); where none can be made, Foom kills it at the limit itself",
        };
        var limitBy = new Option<string>("--limit-by")
        {
            Description = "Who enforces --limit: 'auto' (the kernel through a memory cgroup where one can be made, else Foom) or 'foom' (Foom's own SIGKILL)",
            DefaultValueFactory = _ => "auto",
        };
        limitBy.AcceptOnlyFromAmong("auto", "foom");
        var warnAt = new Option<double>("--warn-at")
        {
            Description = "Raise a memory warning when the footprint reaches this fraction of the limit",
            DefaultValueFactory = _ => 0.8,
        };
        var warnSignal = new Option<string?>("--warn-signal")
        {
            Description = "Also send this signal (a name like SIGUSR1 or a number) to PROGRAM with each warning",
        };
        var watchdog = new Option<double?>("--watchdog")
        {
            Description = "Kill PROGRAM when its foreground heartbeats (foom_heartbeat) stop for this many seconds",
        };
        var keep = new Option<int>("--keep")
        {
            Description = "Keep the app's newest N sessions and their reports (this run's included); older ones are removed",
            DefaultValueFactory = _ => Foom.Recorder.Retention.ReportRetention.DefaultKeep,
        };
        var sampleBytes = new Option<string?>("--sample-bytes")
        {
            Description = "Sample heap blocks by bytes, one per SIZE allocated on average (e.g. 512K), instead of recording every one: " +
                          "blocks of SIZE or more are recorded exactly, the report's figures are estimates with their bounds",
        };
        var snapshot = new Option<bool>("--snapshot-at-warning")
        {
            Description = "Also write a live snapshot report into the session at memory warnings (at most one every few seconds)",
        };
        var keepDump = new Option<bool>("--keep-dump")
        {
            Description = "Keep the heap dump a .NET program's runtime writes as it dies in the session (by default it is deleted once read into the report)",
        };
        var server = new Option<string?>("--server")
        {
            Description = "Send a launch record and the reports of OOM and watchdog deaths to this Foom server (else FOOM_SERVER); kept queued while it is unreachable",
        };
        var ingestKey = new Option<string?>("--ingest-key") { Description = "The app's ingest key for --server (else FOOM_INGEST_KEY)" };
        var app = new Option<string?>("--app") { Description = "The app the session belongs to (default: the program's file name)" };
        var appVersion = new Option<string?>("--app-version") { Description = "The program's version, carried by its reports and launch records (else FOOM_APP_VERSION)" };
        var user = new Option<string?>("--user") { Description = "The user the run is for, carried by its reports and launch records (else FOOM_USER_ID)" };
        var data = new Option<string?>("--data") { Description = "The data directory (default: $FOOM_DATA, $XDG_DATA_HOME/foom, ~/.local/share/foom)" };
        var program = new Argument<string[]>("PROGRAM") { Description = "The program and its arguments, after --", Arity = ArgumentArity.OneOrMore };

        var command = new Command("run", "Run a program under the recorder and record what holds its memory")
        {
            limit, limitBy, sampleBytes, warnAt, warnSignal, watchdog, keep, snapshot, keepDump, server, ingestKey, app, appVersion, user, data, program,
        };
        command.SetAction(async (parse, _) =>
        {
            RunTiming.Mark("command-parsed");
            var errors = new List<string>();
            long? limitBytes = null;
            if (parse.GetValue(limit) is { } limitText)
            {
                if (ByteSize.TryParse(limitText, out var bytes, out var problem)) limitBytes = bytes;
                else errors.Add($"--limit: {problem}");
            }
            long sampleEvery = 0;
            if (parse.GetValue(sampleBytes) is { } sampleText)
            {
                if (!ByteSize.TryParse(sampleText, out sampleEvery, out var problem)) errors.Add($"--sample-bytes: {problem}");
                else if (sampleEvery < 1) errors.Add($"--sample-bytes: '{sampleText}' is not a positive size (e.g. 512K)");
            }
            var fraction = parse.GetValue(warnAt);
            if (fraction is <= 0 or > 1) errors.Add($"--warn-at: {fraction.ToString(CultureInfo.InvariantCulture)} is not a fraction between 0 and 1 (e.g. 0.8)");
            int? signal = null;
            if (parse.GetValue(warnSignal) is { } signalText)
            {
                if (SignalNames.TryParse(signalText, out var number)) signal = number;
                else errors.Add($"--warn-signal: '{signalText}' is not a signal (use a name like SIGUSR1 or a number from 1 to 64)");
            }
            var watchdogSeconds = parse.GetValue(watchdog);
            if (watchdogSeconds is <= 0) errors.Add("--watchdog: the number of seconds must be positive");
            var keepCount = parse.GetValue(keep);
            if (keepCount < 1) errors.Add($"--keep: {keepCount} would remove this run's own session; keep at least 1");
            var (serverUri, key, serverProblem) = ServerSettings.Resolve(parse.GetValue(server), parse.GetValue(ingestKey));
            if (serverProblem is not null) errors.Add(serverProblem);
            var appId = parse.GetValue(app);
            if (appId is not null)
            {
                try
                {
                    DataDirectory.ValidateAppId(appId);
                }
                catch (ArgumentException problem)
                {
                    errors.Add($"--app: {problem.Message.Split(" (Parameter")[0]}");
                }
            }
            if (errors.Count > 0)
            {
                foreach (var error in errors) Console.Error.WriteLine($"foom run: {error}");
                return 64;
            }

            var options = new RunOptions
            {
                Command = parse.GetValue(program)!,
                AppId = appId,
                AppVersion = parse.GetValue(appVersion) ?? NonBlank(Environment.GetEnvironmentVariable("FOOM_APP_VERSION")),
                UserId = parse.GetValue(user) ?? NonBlank(Environment.GetEnvironmentVariable("FOOM_USER_ID")),
                Data = DataDirectory.Resolve(parse.GetValue(data)),
                LimitBytes = limitBytes,
                SampleBytes = sampleEvery,
                EnforceLimitInFoom = parse.GetValue(limitBy) == "foom",
                WarnAt = fraction,
                WarnSignal = signal,
                Watchdog = watchdogSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                Keep = keepCount,
                SnapshotAtWarning = parse.GetValue(snapshot),
                KeepDump = parse.GetValue(keepDump),
                Upload = serverUri is not null && key is not null ? new RunUpload(serverUri, key) : null,
            };
            WarnIfLibunwindIsMissing();
            var outcome = await RunSession.RunAsync(options, Console.Error);
            if (outcome.Info is { } info) Console.Error.WriteLine(Summary(outcome, info));
            RunTiming.Mark("summary-printed");
            return outcome.ExitStatus;
        });
        return command;
    }

    /// <summary>How a service runs under Foom with its reports uploaded, shown after `foom run --help` (README.md has the same).</summary>
    public const string ServiceExamples = """

        Examples: a service under Foom, its reports sent to a server (FOOM_SERVER, FOOM_INGEST_KEY;
        queued on disk while the server is unreachable; the exit status is the service's own)

          A container (Dockerfile; the tool installed from a folder holding the foom package):
            FROM mcr.microsoft.com/dotnet/sdk:10.0
            COPY packages/ /packages/
            RUN dotnet tool install -g foom --add-source /packages
            ENV PATH="$PATH:/root/.dotnet/tools" FOOM_DATA=/var/lib/foom FOOM_SERVER=https://foom.example.com
            VOLUME /var/lib/foom
            ENTRYPOINT ["foom", "run", "--limit", "512M", "--app", "api", "--", "/app/api"]
          (docker run -e FOOM_INGEST_KEY=... IMAGE; without a writable cgroup, foom enforces --limit itself and says so)

          A systemd unit (/etc/systemd/system/api.service):
            [Service]
            Environment=FOOM_SERVER=https://foom.example.com FOOM_DATA=/var/lib/foom
            EnvironmentFile=/etc/foom/api.env
            StateDirectory=foom
            Delegate=yes
            ExecStart=/root/.dotnet/tools/foom run --limit 512M --app api -- /usr/local/bin/api
            Restart=on-failure
          (/etc/foom/api.env holds FOOM_INGEST_KEY=...; Delegate=yes lets foom make the memory cgroup for --limit)
        """;

    /// <summary>
    /// The hook loads libunwind.so.8 for the stacks it cannot walk by frame pointers; without it
    /// those stacks stop short, which the user must hear about before the run, not find in a report.
    /// </summary>
    private static void WarnIfLibunwindIsMissing()
    {
        if (System.Runtime.InteropServices.NativeLibrary.TryLoad("libunwind.so.8", out var handle))
        {
            System.Runtime.InteropServices.NativeLibrary.Free(handle);
            return;
        }
        Console.Error.WriteLine("foom run: libunwind.so.8 is not installed: stacks through code built without frame pointers will stop there; "
                                + "install it (Debian, Ubuntu: apt-get install libunwind8; Fedora: dnf install libunwind)");
    }

    private static string? NonBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>
    /// The one line `foom run` prints at the end: where the session is, what was live, the peak,
    /// the verdict. Sizes are written as the report's text writes them, so that this line and the
    /// saved report read the same figures.
    /// </summary>
    internal static string Summary(RunOutcome outcome, SessionInfo info)
    {
        var verdict = outcome.Verdict is { } v ? $"{v.Reason.Name()} ({v.How.Name()})" : "unknown";
        var status = info.End?.Signal is { } signal ? $"killed by {SignalNames.Name(signal)}" : $"exit status {outcome.ExitStatus}";
        var peak = info.PeakFootprintBytes is { } p ? FrameLabels.Bytes(p) : "unknown";
        var limit = info.Limit is { Bytes: > 0 } l ? $" of {FrameLabels.Bytes(l.Bytes)} ({l.Source})" : "";
        var recording = outcome.RecordingProblem is { } problem ? $"; {problem}" : "";
        var report = outcome.ReportPath is { } path ? $"; report {path}" : "";
        // The victim rule: the process the kernel killed comes first, its own live memory with it.
        var victim = info.End?.VictimPid is { } victimPid
            ? $"the OOM killer's victim pid {victimPid} ({info.End.VictimTask}), " +
              (info.Processes?.LastOrDefault(process => process.Pid == victimPid)?.LiveBytes is { } victimLive ? $"live {FrameLabels.Bytes(victimLive)}" : "not recorded") +
              "; the program's own "
            : "";
        // A sampled run's tables hold the sampled blocks only: the whole is estimated by the report.
        var live = info.SampleBytes is { } every
            ? $"live {FrameLabels.Bytes(outcome.LiveBytes)} in {outcome.LiveCount:N0} blocks recorded by sampling one per {FrameLabels.Bytes(every)} (the report estimates the whole)"
            : $"live {FrameLabels.Bytes(outcome.LiveBytes)} in {outcome.LiveCount:N0} blocks";
        return $"foom: {status}: {verdict}; {victim}{live}; " +
               $"peak footprint {peak}{limit}; session {outcome.SessionDirectory}{report}{recording}";
    }
}
