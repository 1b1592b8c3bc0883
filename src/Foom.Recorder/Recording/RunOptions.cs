using Foom.Storage.Sessions;

namespace Foom.Recorder.Recording;

/// <summary>What `foom run` was asked to do.</summary>
public sealed record RunOptions
{
    /// <summary>PROGRAM and its arguments.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>The app the sessions belong to; by default the program's file name.</summary>
    public string? AppId { get; init; }

    public required DataDirectory Data { get; init; }

    /// <summary>--limit: a memory cgroup with this limit, or Foom's own kill where none can be made.</summary>
    public long? LimitBytes { get; init; }

    /// <summary>
    /// --limit-by foom: Foom enforces the limit itself (SIGKILL at the limit) even where the kernel
    /// could, e.g. to watch a program without the kernel reclaiming its pages under a cgroup limit.
    /// </summary>
    public bool EnforceLimitInFoom { get; init; }

    /// <summary>--warn-at: the fraction of the limit at which a memory warning is raised.</summary>
    public double WarnAt { get; init; } = 0.8;

    /// <summary>--warn-signal: a signal sent to the program with each warning.</summary>
    public int? WarnSignal { get; init; }

    /// <summary>--watchdog: how long foreground heartbeats may stop before the program is killed.</summary>
    public TimeSpan? Watchdog { get; init; }
}
