using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>
/// The hook stopped recording while the program ran on (docs/report-format.md, "Head"): when, why,
/// and exactly what the program did afterwards that is missing from the report's live figures.
/// </summary>
public sealed class ReportRecordingStopped
{
    /// <summary>"recorder_gone", "by_recorder" or "ring_invalid".</summary>
    [JsonPropertyName("reason")] public string Reason { get; set; } = "";
    /// <summary>Milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("time")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Time { get; set; }
    [JsonPropertyName("unrecorded_allocations")] public long UnrecordedAllocations { get; set; }
    [JsonPropertyName("unrecorded_allocation_bytes")] public long UnrecordedAllocationBytes { get; set; }
    /// <summary>Frees after the stop; their sizes are not known.</summary>
    [JsonPropertyName("unrecorded_frees")] public long UnrecordedFrees { get; set; }
    [JsonPropertyName("unrecorded_mappings")] public long UnrecordedMappings { get; set; }
    [JsonPropertyName("unrecorded_mapping_bytes")] public long UnrecordedMappingBytes { get; set; }
    [JsonPropertyName("unrecorded_unmappings")] public long UnrecordedUnmappings { get; set; }
    [JsonPropertyName("unrecorded_unmapping_bytes")] public long UnrecordedUnmappingBytes { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }

    /// <summary>The heap blocks the program held beyond those the report counts: exact (negative when it freed more than it allocated after the stop).</summary>
    [JsonIgnore] public long MissingHeapBlocks => UnrecordedAllocations - UnrecordedFrees;
}
