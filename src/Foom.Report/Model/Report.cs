using System.Text.Json.Serialization;

namespace Foom.Report.Model;

// The report, in the JSON shape of Matrix memstat (WCMemoryStat) so that one server reads both.
// Foom adds fields and never renames Matrix's. docs/report-format.md describes every field.

/// <summary>A whole report: head, modules, and one item per category.</summary>
public sealed class Report
{
    [JsonPropertyName("head")] public ReportHead Head { get; set; } = new();
    /// <summary>The caller view, before the categories (Foom reports; absent in Matrix's).</summary>
    [JsonPropertyName("callers")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportCallers? Callers { get; set; }
    [JsonPropertyName("modules")] public List<ReportModule> Modules { get; set; } = [];
    [JsonPropertyName("items")] public List<ReportItem> Items { get; set; } = [];
    /// <summary>The run's processes, when it had more than one (Foom reports only).</summary>
    [JsonPropertyName("process_tree")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportProcessTree? ProcessTree { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}

public sealed class ReportHead
{
    [JsonPropertyName("protocol_ver")] public int ProtocolVersion { get; set; } = 1;
    [JsonPropertyName("report_id")] public string? ReportId { get; set; }
    /// <summary>"linux" for Foom's recorder, "ios" for Matrix reports.</summary>
    [JsonPropertyName("platform")] public string? Platform { get; set; }
    [JsonPropertyName("app_id")] public string? AppId { get; set; }
    [JsonPropertyName("app_version")] public string? AppVersion { get; set; }
    /// <summary>The main binary's build-id (LC_UUID on iOS).</summary>
    [JsonPropertyName("app_uuid")] public string? AppUuid { get; set; }
    [JsonPropertyName("device_id")] public string? DeviceId { get; set; }
    [JsonPropertyName("user_id")] public string? UserId { get; set; }
    /// <summary>Device model (iOS) or host name (Linux).</summary>
    [JsonPropertyName("phone")] public string? Phone { get; set; }
    [JsonPropertyName("os_ver")] public string? OsVersion { get; set; }
    /// <summary>Milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("launch_time")] public long? LaunchTime { get; set; }
    /// <summary>Milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("report_time")] public long? ReportTime { get; set; }
    /// <summary>One of the names in docs/exit-reasons.md.</summary>
    [JsonPropertyName("exit_reason")] public string? ExitReason { get; set; }
    /// <summary>"observed" or "inferred".</summary>
    [JsonPropertyName("exit_how")] public string? ExitHow { get; set; }
    [JsonPropertyName("exit_evidence")] public List<string> ExitEvidence { get; set; } = [];
    /// <summary>For a memory death inside the process, how it happened ("dotnet_out_of_memory"; docs/exit-reasons.md).</summary>
    [JsonPropertyName("exit_mechanism")] public string? ExitMechanism { get; set; }
    [JsonPropertyName("limit_bytes")] public long? LimitBytes { get; set; }
    [JsonPropertyName("footprint_bytes")] public long? FootprintBytes { get; set; }
    [JsonPropertyName("peak_footprint_bytes")] public long? PeakFootprintBytes { get; set; }
    [JsonPropertyName("live_bytes")] public long LiveBytes { get; set; }
    [JsonPropertyName("live_count")] public long LiveCount { get; set; }
    [JsonPropertyName("dropped_events")] public long DroppedEvents { get; set; }
    /// <summary>Set when the hook stopped recording while the program ran on: what the live figures miss, exactly.</summary>
    [JsonPropertyName("recording_stopped")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportRecordingStopped? RecordingStopped { get; set; }
    [JsonPropertyName("scene")] public string? Scene { get; set; }

    // Foom's additions (docs/report-format.md, "Head").
    /// <summary>The session the report was made from (Foom reports only).</summary>
    [JsonPropertyName("session_id")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? SessionId { get; set; }
    /// <summary>True when the report describes a session that was still being recorded: a snapshot, not the end.</summary>
    [JsonPropertyName("live_snapshot")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool LiveSnapshot { get; set; }
    /// <summary>What had to be recovered to read the session (torn tree links after a SIGKILL, ...); empty when it was read whole.</summary>
    [JsonPropertyName("recovery")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<string>? Recovery { get; set; }
    /// <summary>What the selection rules and the size budget left out; absent when nothing was.</summary>
    [JsonPropertyName("trimmed")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportTrimmed? Trimmed { get; set; }
    /// <summary>The footprint over time: [milliseconds since the Unix epoch, bytes] pairs, oldest first.</summary>
    [JsonPropertyName("footprint_samples")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<long[]>? FootprintSamples { get; set; }
    /// <summary>The kernel's oom_score of the program at the recorder's last reading (0–1000, higher dies first), and its oom_score_adj: WeChat's monitor's memorystatus priority.</summary>
    [JsonPropertyName("oom_score")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? OomScore { get; set; }
    [JsonPropertyName("oom_score_adj")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? OomScoreAdj { get; set; }
    /// <summary>The memory warnings of the run, as session.json has them.</summary>
    [JsonPropertyName("warnings")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<ReportWarning>? Warnings { get; set; }
    /// <summary>
    /// When the resident bytes of the VM categories were read from /proc/PID/smaps (milliseconds
    /// since the Unix epoch); absent when they are not known.
    /// </summary>
    [JsonPropertyName("resident_time")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? ResidentTime { get; set; }
    /// <summary>
    /// Where the resident bytes come from: "live" (read while the report was made, the process
    /// running), or the recorder's last sample before the end: "warning" (taken at a memory
    /// warning) or "periodic".
    /// </summary>
    [JsonPropertyName("resident_source")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ResidentSource { get; set; }
    /// <summary>
    /// Of live_bytes, the bytes of mappings and large heap blocks (128 KiB and more) that were not
    /// resident at resident_time: address space reserved and never touched, or swapped out. What
    /// the footprint and the limit count is live_bytes minus this (and the small blocks' own
    /// untouched pages, which are not measured); absent when no block was measured.
    /// </summary>
    [JsonPropertyName("live_not_resident_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? LiveNotResidentBytes { get; set; }
    /// <summary>
    /// Set when no allocation could be recorded (a statically linked program, which the LD_PRELOAD
    /// hook cannot enter): why, and that the verdict, footprint and limit still hold. live_bytes is
    /// then 0 because nothing was seen, not because nothing was live.
    /// </summary>
    [JsonPropertyName("not_recorded")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? NotRecorded { get; set; }
    /// <summary>Why the figures above disagree, one sentence each (live above the footprint or the limit; the footprint below the peak); absent when they agree.</summary>
    [JsonPropertyName("figure_notes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<string>? FigureNotes { get; set; }
    /// <summary>What foom run noted about the recording (session.json's recording_notes).</summary>
    [JsonPropertyName("recording_notes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<string>? RecordingNotes { get; set; }
    /// <summary>Whether the stacks of the run's Python processes name Python functions, and if not why (docs/report-format.md, "Python frames"); absent for a program without Python.</summary>
    [JsonPropertyName("python_frames")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<ReportPythonFrames>? PythonFrames { get; set; }
    /// <summary>How many frames got names and why the others did not; absent when nothing named the frames (docs/report-format.md, "Symbols").</summary>
    [JsonPropertyName("symbols")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportSymbols? Symbols { get; set; }
    /// <summary>Set for a sampled run (`foom run --sample-bytes N`): the live figures are estimates, with their bounds (docs/report-format.md, "Sampled runs").</summary>
    [JsonPropertyName("sampling")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportSampling? Sampling { get; set; }
    /// <summary>A .NET target's managed heap: the census behind the managed categories, or why there is none (docs/report-format.md, "Managed heap").</summary>
    [JsonPropertyName("managed")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportManaged? Managed { get; set; }

    /// <summary>Fields this version does not know (Matrix custom keys, newer Foom fields) are kept.</summary>
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}

/// <summary>What a report leaves out, so that a reader never takes a part for the whole.</summary>
public sealed class ReportTrimmed
{
    /// <summary>Stacks in the session (distinct category and stack pairs) that the report does not list.</summary>
    [JsonPropertyName("unlisted_stacks")] public long UnlistedStacks { get; set; }
    /// <summary>Stacks the selection rules chose but the size budget dropped (least important first).</summary>
    [JsonPropertyName("budget_stacks")] public int BudgetStacks { get; set; }
    /// <summary>Live bytes of the stacks the budget dropped.</summary>
    [JsonPropertyName("budget_bytes")] public long BudgetBytes { get; set; }
    /// <summary>Stacks cut to the frame limit, and the frames cut from them.</summary>
    [JsonPropertyName("deep_stacks")] public int DeepStacks { get; set; }
    [JsonPropertyName("deep_frames")] public long DeepFrames { get; set; }
    /// <summary>The budget the report was fitted to, in gzip'ed bytes, and whether even its categories alone exceed it.</summary>
    [JsonPropertyName("budget_gzip_bytes")] public long BudgetGzipBytes { get; set; }
    [JsonPropertyName("over_budget")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool OverBudget { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}

/// <summary>What the report knows of a .NET target's managed heap.</summary>
public sealed class ReportManaged
{
    /// <summary>The .NET runtime's version, when known.</summary>
    [JsonPropertyName("runtime_version")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? RuntimeVersion { get; set; }
    /// <summary>The last census before the report: the managed categories (items with heap "managed") are its types.</summary>
    [JsonPropertyName("census")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportCensus? Census { get; set; }
    /// <summary>Why there is no census, when there is none.</summary>
    [JsonPropertyName("no_census")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? NoCensus { get; set; }
    /// <summary>Censuses that failed or came out incomplete, newest last.</summary>
    [JsonPropertyName("census_problems")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<string>? CensusProblems { get; set; }
    /// <summary>How allocations were sampled: "allocation_sampled" (.NET 10+) or "allocation_tick"; absent when they were not.</summary>
    [JsonPropertyName("allocation_sampling")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? AllocationSampling { get; set; }
    [JsonPropertyName("allocation_samples")] public long AllocationSamples { get; set; }
    [JsonPropertyName("allocation_sampling_problem")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? AllocationSamplingProblem { get; set; }
    /// <summary>The runtime's heap dump at the death, read: the exception and root paths (its types are the census, trigger "death"), or why it is missing.</summary>
    [JsonPropertyName("heap_at_death")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportHeapAtDeath? HeapAtDeath { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}

/// <summary>When the census behind the managed categories was taken, and what it counted.</summary>
public sealed class ReportCensus
{
    /// <summary>Milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("time")] public long Time { get; set; }
    /// <summary>The footprint sampled just before it.</summary>
    [JsonPropertyName("footprint_bytes")] public long FootprintBytes { get; set; }
    [JsonPropertyName("limit_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? LimitBytes { get; set; }
    /// <summary>"warning:SOURCE", "near_limit", or "death" (read from the runtime's heap dump at the death).</summary>
    [JsonPropertyName("trigger")] public string Trigger { get; set; } = "";
    /// <summary>The managed bytes and objects counted: the managed items add up to these.</summary>
    [JsonPropertyName("bytes")] public long Bytes { get; set; }
    [JsonPropertyName("count")] public long Count { get; set; }
    /// <summary>Types counted, and those listed as items by name (the rest are one item, "Managed: other types").</summary>
    [JsonPropertyName("types")] public int Types { get; set; }
    [JsonPropertyName("listed_types")] public int ListedTypes { get; set; }
    [JsonPropertyName("pause_ms")] public double PauseMilliseconds { get; set; }
    [JsonPropertyName("transferred_bytes")] public long TransferredBytes { get; set; }
    /// <summary>Heap-walk events the runtime dropped; not zero means objects are missing from the counts.</summary>
    [JsonPropertyName("lost_events")] public long LostEvents { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}

public sealed class ReportWarning
{
    /// <summary>Milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("time")] public long Time { get; set; }
    [JsonPropertyName("footprint_bytes")] public long FootprintBytes { get; set; }
    [JsonPropertyName("limit_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? LimitBytes { get; set; }
    /// <summary>"threshold" or "pressure", as session.json says.</summary>
    [JsonPropertyName("source")] public string Source { get; set; } = "";
    /// <summary>For "dotnet_out_of_memory": the exception type and its throwing stack, innermost first.</summary>
    [JsonPropertyName("detail")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Detail { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}

public sealed class ReportModule
{
    /// <summary>Build-id (hex) on Linux, LC_UUID on iOS.</summary>
    [JsonPropertyName("uuid")] public string Uuid { get; set; } = "";
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("path")] public string? Path { get; set; }
    [JsonPropertyName("base")] public ulong Base { get; set; }
    [JsonPropertyName("size")] public ulong Size { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}

/// <summary>One category ("Malloc 48 Bytes", "VM: anonymous", a type name) with its totals.</summary>
public sealed class ReportItem
{
    [JsonPropertyName("tag")] public string Tag { get; set; } = "iOS_MemStat";
    [JsonPropertyName("info")] public string Info { get; set; } = "";
    [JsonPropertyName("scene")] public string? Scene { get; set; }
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("count")] public long Count { get; set; }
    [JsonPropertyName("stacks")] public List<ReportStack> Stacks { get; set; } = [];
    /// <summary>How many distinct stacks the category has, listed or not (Foom reports).</summary>
    [JsonPropertyName("distinct_stacks")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? DistinctStacks { get; set; }
    /// <summary>
    /// What <c>size</c> measures, for mapping categories: "reserved" (the address space the
    /// mappings hold, in RAM or not). Absent for heap blocks and types, whose size is what was allocated.
    /// </summary>
    [JsonPropertyName("size_measure")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? SizeMeasure { get; set; }
    /// <summary>
    /// Of the size, the bytes resident in RAM, when the head's resident_source says they are known:
    /// for mapping categories, and for heap categories of large blocks (128 KiB and more, which
    /// malloc serves with mappings of their own and which are resident only where touched).
    /// </summary>
    [JsonPropertyName("resident_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? ResidentBytes { get; set; }
    /// <summary>"managed" for a type counted by the managed heap census (not part of live_bytes); absent for the recorded native blocks.</summary>
    [JsonPropertyName("heap")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Heap { get; set; }
    /// <summary>In a sampled run, where the figures are estimates: the half-widths of their 95 % intervals and the sampled blocks they rest on (docs/report-format.md, "Sampled runs").</summary>
    [JsonPropertyName("size_bound")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? SizeBound { get; set; }
    [JsonPropertyName("count_bound")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CountBound { get; set; }
    [JsonPropertyName("samples")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Samples { get; set; }
    /// <summary>Single-stack categories folded into this one (docs/report-format.md, "Folding"), with their own totals.</summary>
    [JsonPropertyName("folded")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<FoldedCategory>? Folded { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }

    /// <summary>The category's blocks are counted by the managed heap census, beside the native ones.</summary>
    [JsonIgnore] public bool IsManaged => Heap == ManagedHeapName;

    public const string ManagedHeapName = "managed";

    /// <summary>
    /// The size_measure of managed items made from allocation samples when there is no census:
    /// the bytes allocated (live or not) since sampling began, estimated.
    /// </summary>
    public const string AllocatedEstimateMeasure = "allocated_estimate";

    /// <summary>
    /// The size_measure of heap-block categories in a sampled run that rest on sampled blocks:
    /// the live bytes and blocks estimated, within size_bound and count_bound at 95 %.
    /// </summary>
    public const string LiveEstimateMeasure = "live_estimate";
}

public sealed class FoldedCategory
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("count")] public long Count { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}

public sealed class ReportStack
{
    /// <summary>The first meaningful frame, written "&lt;uuid&gt;@&lt;offset&gt;" as Matrix writes it.</summary>
    [JsonPropertyName("caller")] [JsonConverter(typeof(Foom.Report.IO.RepeatedStringConverter))] public string Caller { get; set; } = "";
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("count")] public long Count { get; set; }
    /// <summary>Innermost first.</summary>
    [JsonPropertyName("frames")] public List<ReportFrame> Frames { get; set; } = [];
    /// <summary>The caller frame's function name, when the frame is symbolicated.</summary>
    [JsonPropertyName("caller_function")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? CallerFunction { get; set; }
    /// <summary>Of the stack's reserved size, the bytes resident in RAM (stacks of mapping categories, when known).</summary>
    [JsonPropertyName("resident_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? ResidentBytes { get; set; }
    /// <summary>For a managed category: the allocation samples behind this stack, and the bytes they estimate it allocated (its size and count are its estimated share of the census's live totals).</summary>
    [JsonPropertyName("allocation_samples")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? AllocationSamples { get; set; }
    [JsonPropertyName("allocated_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? AllocatedBytes { get; set; }
    /// <summary>In a sampled run, where the figures are estimates: the half-widths of their 95 % intervals and the sampled blocks they rest on (docs/report-format.md, "Sampled runs").</summary>
    [JsonPropertyName("size_bound")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? SizeBound { get; set; }
    [JsonPropertyName("count_bound")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CountBound { get; set; }
    [JsonPropertyName("samples")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Samples { get; set; }
    /// <summary>Frames cut beyond the frame limit (outermost ones), when any were.</summary>
    [JsonPropertyName("frames_cut")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? FramesCut { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}

public sealed class ReportFrame
{
    [JsonPropertyName("uuid")] [JsonConverter(typeof(Foom.Report.IO.RepeatedStringConverter))] public string Uuid { get; set; } = "";
    /// <summary>Offset of the pc from the module's load base (Matrix: pc − __TEXT start).</summary>
    [JsonPropertyName("offset")] [JsonConverter(typeof(Foom.Report.IO.OffsetConverter))] public ulong Offset { get; set; }
    [JsonPropertyName("function")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] [JsonConverter(typeof(Foom.Report.IO.RepeatedStringConverter))] public string? Function { get; set; }
    [JsonPropertyName("file")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] [JsonConverter(typeof(Foom.Report.IO.RepeatedStringConverter))] public string? File { get; set; }
    [JsonPropertyName("line")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Line { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
