using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>
/// The run's processes, when it had more than one (docs/report-format.md, "Process tree"): which
/// process the report is of, the chain of its parents up to the program, and every process with its
/// share of the group's footprint, as a JetsamEvent log lists every process.
/// </summary>
public sealed class ReportProcessTree
{
    /// <summary>The process whose live memory and stacks this report shows.</summary>
    [JsonPropertyName("pid")] public int Pid { get; set; }
    /// <summary>True when the kernel's OOM killer killed it and the run's verdict names it (the victim rule).</summary>
    [JsonPropertyName("victim")] public bool Victim { get; set; }
    /// <summary>Its parents, nearest first, up to the program Foom started.</summary>
    [JsonPropertyName("parents")] public List<int> Parents { get; set; } = [];
    /// <summary>The group's memory usage in the kernel's kill line (bytes), when a kill was seen.</summary>
    [JsonPropertyName("group_usage_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? GroupUsageBytes { get; set; }
    /// <summary>Every process of the run, the program first.</summary>
    [JsonPropertyName("processes")] public List<ReportProcess> Processes { get; set; } = [];
    /// <summary>Processes that found no spare ring (counted by the hook; not seen by pid).</summary>
    [JsonPropertyName("pool_exhausted")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int PoolExhausted { get; set; }
}
