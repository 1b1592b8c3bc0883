using System.Text.Json;
using System.Text.Json.Serialization;

namespace Foom.Storage.Sessions;

/// <summary>
/// session.json: what the recorder knows about one run besides its allocations. Written when the
/// run starts and rewritten (atomically: temporary file, then rename) whenever it learns
/// something that must survive a kill — a warning, the app's state, the end of the run.
/// A session without <see cref="End"/> is one whose recorder died too: its exit reason is
/// inferred at the app's next launch.
/// </summary>
public sealed class SessionInfo
{
    public const int CurrentFormatVersion = 1;

    [JsonPropertyName("format_version")] public int FormatVersion { get; set; } = CurrentFormatVersion;
    [JsonPropertyName("session_id")] public string SessionId { get; set; } = "";
    [JsonPropertyName("app_id")] public string AppId { get; set; } = "";
    [JsonPropertyName("app_version")] public string? AppVersion { get; set; }
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("recorder_pid")] public int RecorderPid { get; set; }
    [JsonPropertyName("command")] public List<string> Command { get; set; } = [];
    /// <summary>Milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("start_time")] public long StartTime { get; set; }
    [JsonPropertyName("host")] public string? Host { get; set; }
    [JsonPropertyName("device_id")] public string? DeviceId { get; set; }
    [JsonPropertyName("user_id")] public string? UserId { get; set; }
    /// <summary>/proc/sys/kernel/random/boot_id at start: a change means the machine rebooted.</summary>
    [JsonPropertyName("boot_id")] public string? BootId { get; set; }
    /// <summary>uname -r at start: a change means the OS was upgraded.</summary>
    [JsonPropertyName("kernel_release")] public string? KernelRelease { get; set; }
    [JsonPropertyName("os_version")] public string? OsVersion { get; set; }
    [JsonPropertyName("main_binary")] public string? MainBinary { get; set; }
    /// <summary>The main binary's build-id: a change means the app was upgraded.</summary>
    [JsonPropertyName("main_build_id")] public string? MainBuildId { get; set; }

    [JsonPropertyName("limit")] public MemoryLimit? Limit { get; set; }
    [JsonPropertyName("oom_score")] public int? OomScore { get; set; }
    [JsonPropertyName("oom_score_adj")] public int? OomScoreAdj { get; set; }
    [JsonPropertyName("peak_footprint_bytes")] public long? PeakFootprintBytes { get; set; }
    [JsonPropertyName("last_footprint_bytes")] public long? LastFootprintBytes { get; set; }
    /// <summary>When <see cref="LastFootprintBytes"/> was sampled (ms since the epoch): the last moment the program was known alive.</summary>
    [JsonPropertyName("last_footprint_time")] public long? LastFootprintTime { get; set; }
    /// <summary>A debugger (ptrace tracer) was seen attached during the run: its death then says nothing about memory.</summary>
    [JsonPropertyName("debugger_seen")] public bool? DebuggerSeen { get; set; }
    /// <summary>--watchdog SECONDS of the run, when given: how long a foreground heartbeat may stall.</summary>
    [JsonPropertyName("watchdog_seconds")] public double? WatchdogSeconds { get; set; }
    /// <summary>--sample-bytes of the run: heap blocks were sampled by bytes, one per this many on average, so the live figures are estimates; absent when every block was recorded.</summary>
    [JsonPropertyName("sample_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? SampleBytes { get; set; }
    [JsonPropertyName("warnings")] public List<MemoryWarning> Warnings { get; set; } = [];
    /// <summary>Events the hook could not deliver (the ring stayed full past its wait), counted by the hook.</summary>
    [JsonPropertyName("dropped_events")] public long DroppedEvents { get; set; }
    /// <summary>What limited the recording, when something did (a static binary, a corrupt ring, events lost at the death).</summary>
    [JsonPropertyName("recording_notes")] public List<string>? RecordingNotes { get; set; }

    /// <summary>
    /// Set by the launch that took over the session after its recorder died: the tables reopened
    /// and the events left in the ring applied to them. Absent when the recorder closed its tables.
    /// </summary>
    [JsonPropertyName("ring_leftovers")] public RingLeftoverRecord? RingLeftovers { get; set; }

    /// <summary>In the session of a process of a run besides the program: the run's session id.</summary>
    [JsonPropertyName("parent_session_id")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ParentSessionId { get; set; }
    /// <summary>In the session of a process of a run besides the program: its parent's pid at its attach.</summary>
    [JsonPropertyName("parent_pid")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? ParentPid { get; set; }
    /// <summary>In a run's session: the run's other processes, recorded or not, in the order they were seen.</summary>
    [JsonPropertyName("processes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<ProcessEntry>? Processes { get; set; }
    /// <summary>In a run's session: processes of the run that found no spare ring ready (the hook's count): not recorded, and not known by pid.</summary>
    [JsonPropertyName("processes_without_ring")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? ProcessesWithoutRing { get; set; }
    /// <summary>In a run's session: the resident bytes of the program itself at the recorder's last /proc reading (for the process tree's shares).</summary>
    [JsonPropertyName("program_rss_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? ProgramRssBytes { get; set; }
    /// <summary>In a run's session with other processes: the program's own recorded live bytes at its end.</summary>
    [JsonPropertyName("program_live_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? ProgramLiveBytes { get; set; }

    /// <summary>Present once the recorder saw the run end; absent when it died with the target.</summary>
    [JsonPropertyName("end")] public SessionEnd? End { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>What a later launch did with a session whose recorder died (session.json's ring_leftovers).</summary>
public sealed class RingLeftoverRecord
{
    /// <summary>When it was done (ms since the epoch).</summary>
    [JsonPropertyName("time")] public long Time { get; set; }
    /// <summary>The session whose launch did it.</summary>
    [JsonPropertyName("by_session")] public string? BySession { get; set; }
    /// <summary>Events the dead recorder had left in the ring, applied now.</summary>
    [JsonPropertyName("events_applied")] public long EventsApplied { get; set; }
    /// <summary>Bytes of the ring reserved by the program and never committed (it died writing them): what follows them could not be read.</summary>
    [JsonPropertyName("abandoned_bytes")] public long AbandonedBytes { get; set; }
    /// <summary>What reopening the tables recovered, and what could not be done, one sentence each.</summary>
    [JsonPropertyName("notes")] public List<string> Notes { get; set; } = [];
}

public sealed class MemoryLimit
{
    [JsonPropertyName("bytes")] public long Bytes { get; set; }
    /// <summary>Where it came from: "cgroup-v2", "cgroup-v1", "foom" (enforced by the recorder), "memtotal".</summary>
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    /// <summary>The memory cgroup the target ran in, when there was one.</summary>
    [JsonPropertyName("cgroup")] public string? Cgroup { get; set; }
}

public sealed class MemoryWarning
{
    [JsonPropertyName("time")] public long Time { get; set; }
    [JsonPropertyName("footprint_bytes")] public long FootprintBytes { get; set; }
    [JsonPropertyName("limit_bytes")] public long? LimitBytes { get; set; }
    /// <summary>What raised it: "threshold" (--warn-at), "pressure" (PSI or cgroup pressure level), "dotnet_out_of_memory" (an OutOfMemoryException thrown, caught or not).</summary>
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    /// <summary>What happened, for a warning that is an event in the program: the exception type and the throwing method.</summary>
    [JsonPropertyName("detail")] public string? Detail { get; set; }
}

public sealed class SessionEnd
{
    [JsonPropertyName("end_time")] public long EndTime { get; set; }
    /// <summary>
    /// The exit code when the program exited, else 128 + signal (what `foom run` returns); null
    /// when nobody saw it (an end inferred at a later launch, with no exit marker).
    /// </summary>
    [JsonPropertyName("exit_status")] public int? ExitStatus { get; set; }
    /// <summary>The signal that ended the program, when one did.</summary>
    [JsonPropertyName("signal")] public int? Signal { get; set; }
    [JsonPropertyName("exit_reason")] public string ExitReason { get; set; } = "unknown";
    [JsonPropertyName("how")] public string How { get; set; } = "observed";
    [JsonPropertyName("evidence")] public List<string> Evidence { get; set; } = [];
    /// <summary>For an inferred end: the session whose launch inferred it.</summary>
    [JsonPropertyName("inferred_by_session")] public string? InferredBySession { get; set; }
    /// <summary>For a memory death inside the process, how it happened ("dotnet_out_of_memory"); docs/exit-reasons.md.</summary>
    [JsonPropertyName("mechanism")] public string? Mechanism { get; set; }
    /// <summary>When the kernel killed a process of the run's group other than the program: its pid (docs/exit-reasons.md, "The victim rule").</summary>
    [JsonPropertyName("victim_pid")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? VictimPid { get; set; }
    /// <summary>The victim's name in the kernel's kill line.</summary>
    [JsonPropertyName("victim_task")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? VictimTask { get; set; }
    /// <summary>The victim's session, relative to the run's ("processes/1234"); null when it was not recorded.</summary>
    [JsonPropertyName("victim_session")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? VictimSession { get; set; }
}
