using Foom.Storage.Sessions;

namespace Foom.Recorder.Recording;

/// <summary>What `foom run` was asked to do.</summary>
public sealed record RunOptions
{
    /// <summary>PROGRAM and its arguments.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>The app the sessions belong to; by default the program's file name.</summary>
    public string? AppId { get; init; }

    /// <summary>--app-version: the version reports and launch records carry (the server's baselines and gray versions are per version).</summary>
    public string? AppVersion { get; init; }

    /// <summary>--user: the user reports and launch records carry (the server counts users and whitelists them).</summary>
    public string? UserId { get; init; }

    public required DataDirectory Data { get; init; }

    /// <summary>--limit: a memory cgroup with this limit, or Foom's own kill where none can be made.</summary>
    public long? LimitBytes { get; init; }

    /// <summary>
    /// --limit-by foom: Foom enforces the limit itself (SIGKILL at the limit) even where the kernel
    /// could, e.g. to watch a program without the kernel reclaiming its pages under a cgroup limit.
    /// </summary>
    public bool EnforceLimitInFoom { get; init; }

    /// <summary>--sample-bytes: 0 records every heap block; N samples them by bytes, one per N on average (docs/hook.md, "Sampled mode").</summary>
    public long SampleBytes { get; init; }

    /// <summary>--warn-at: the fraction of the limit at which a memory warning is raised.</summary>
    public double WarnAt { get; init; } = 0.8;

    /// <summary>--warn-signal: a signal sent to the program with each warning.</summary>
    public int? WarnSignal { get; init; }

    /// <summary>--watchdog: how long foreground heartbeats may stop before the program is killed.</summary>
    public TimeSpan? Watchdog { get; init; }

    /// <summary>--keep: the app's newest session directories kept (this run's included); older ones are removed at the launch.</summary>
    public int Keep { get; init; } = Foom.Recorder.Retention.ReportRetention.DefaultKeep;

    /// <summary>--snapshot-at-warning: a live snapshot report at memory warnings, in the session directory.</summary>
    public bool SnapshotAtWarning { get; init; }

    /// <summary>--keep-dump: the heap dump a .NET program's runtime wrote at its death stays in the session once read.</summary>
    public bool KeepDump { get; init; }

    /// <summary>--server and --ingest-key: where launch records and automatic reports are sent; null keeps everything local.</summary>
    public RunUpload? Upload { get; init; }
}

/// <summary>A Foom server and the app's ingest key (never written to disk).</summary>
public sealed record RunUpload(Uri Server, string IngestKey);
