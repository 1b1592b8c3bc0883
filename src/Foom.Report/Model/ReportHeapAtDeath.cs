using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>
/// head.managed.heap_at_death: what the heap dump a .NET runtime wrote as it died says
/// (docs/report-format.md, "The heap at death"): the exception and its stack, and how the biggest
/// types are kept alive. The types themselves are the managed items (census trigger "death").
/// </summary>
public sealed class ReportHeapAtDeath
{
    /// <summary>When the runtime wrote the dump (ms since the epoch).</summary>
    [JsonPropertyName("time")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public long Time { get; set; }
    [JsonPropertyName("dump_bytes")] public long DumpBytes { get; set; }
    [JsonPropertyName("read_ms")] public double ReadMilliseconds { get; set; }
    /// <summary>Where the dump was kept (--keep-dump); absent when it was deleted once read.</summary>
    [JsonPropertyName("kept_path")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? KeptPath { get; set; }
    /// <summary>Why the heap at death is missing or partial; absent when the dump was read whole.</summary>
    [JsonPropertyName("problem")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Problem { get; set; }
    [JsonPropertyName("exception")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ReportDeathException? Exception { get; set; }
    [JsonPropertyName("root_paths")] public List<ReportRootPath> RootPaths { get; set; } = [];
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
