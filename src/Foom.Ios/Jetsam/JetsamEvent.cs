namespace Foom.Ios.Jetsam;

/// <summary>
/// One iOS JetsamEvent report (bug_type 298): the device and OS, the memory state when Jetsam
/// acted, and every process it listed, the killed ones carrying a reason. Fields that a vintage
/// of iOS leaves out are null.
/// </summary>
public sealed record JetsamEvent
{
    /// <summary>"298" for every JetsamEvent report; from the header line, else from the body (iOS 18 repeats it there).</summary>
    public string? BugType { get; init; }

    /// <summary>"iPhone OS 12.4 (16G77)": the header's os_version, else the body's build.</summary>
    public string? OsVersion { get; init; }

    /// <summary>The device model, e.g. iPhone12,1.</summary>
    public string? Product { get; init; }

    /// <summary>The incident id, from the body, else the header's incident_id.</summary>
    public string? Incident { get; init; }

    /// <summary>The date as the report writes it ("2019-08-05 17:06:39.78 -0500"); see <see cref="Time"/>.</summary>
    public string? Date { get; init; }

    /// <summary><see cref="Date"/> parsed, when it parses.</summary>
    public DateTimeOffset? Time { get; init; }

    /// <summary>Bytes per page: 4096 on A7/A8 devices, 16384 on A9 and later.</summary>
    public required long PageSize { get; init; }

    /// <summary>The process that held the most pages, by the report's own account.</summary>
    public string? LargestProcess { get; init; }

    /// <summary>memoryStatus.memoryPages (free, active, inactive, wired, ...) in pages, keyed as the report spells them.</summary>
    public required IReadOnlyDictionary<string, long> MemoryPages { get; init; }

    /// <summary>memoryStatus.compressorSize: pages held by the compressor, when given.</summary>
    public long? CompressorPages { get; init; }

    /// <summary>Every process listed, in the report's order.</summary>
    public required IReadOnlyList<JetsamProcess> Processes { get; init; }

    /// <summary>The processes Jetsam killed: those with a reason.</summary>
    public IEnumerable<JetsamProcess> Killed => Processes.Where(process => process.Reason is not null);
}

/// <summary>One entry of a JetsamEvent report's processes array.</summary>
public sealed record JetsamProcess
{
    /// <summary>The process name, at most 32 characters on the device.</summary>
    public required string Name { get; init; }

    public int? Pid { get; init; }

    public string? Uuid { get; init; }

    /// <summary>frontmost, resume, suspended, background, daemon, idle, ...</summary>
    public required IReadOnlyList<string> States { get; init; }

    /// <summary>Resident pages when Jetsam looked: the footprint, in pages.</summary>
    public long? Rpages { get; init; }

    /// <summary>The most pages this process ever held.</summary>
    public long? LifetimeMaxPages { get; init; }

    /// <summary>The Jetsam band (its scale differs between iOS versions).</summary>
    public int? Priority { get; init; }

    /// <summary>Why Jetsam killed it (per-process-limit, vm-pageshortage, highwater, ...); null when it was not killed.</summary>
    public string? Reason { get; init; }

    /// <summary>Rpages × page size.</summary>
    public long? FootprintBytes { get; init; }

    /// <summary>lifetimeMax × page size.</summary>
    public long? LifetimeMaxBytes { get; init; }

    /// <summary>
    /// The memory limit this kill reveals: the footprint when the reason says the process crossed
    /// its own limit (per-process-limit, highwater); null for kills that were about the whole
    /// system (vm-pageshortage, vnode-limit, ...) or when it was not killed.
    /// </summary>
    public long? LimitBytes { get; init; }
}

/// <summary>Kill reasons, as XNU's kern_memorystatus.c names them.</summary>
public static class JetsamReasons
{
    public const string PerProcessLimit = "per-process-limit";
    public const string Highwater = "highwater";

    /// <summary>
    /// Reasons that mean "this process crossed its own memory limit", so that its footprint at
    /// the kill is the limit. Every other reason is about the system as a whole: a frontmost app
    /// killed by vm-pageshortage was not over any limit of its own.
    /// </summary>
    public static bool RevealsLimit(string? reason) => reason is PerProcessLimit or Highwater;
}
