using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>
/// The caller view (docs/report-format.md, "Callers"): live native bytes and blocks by the
/// function that allocated them, bottom-up as heaptrack and Instruments lead with, summed over
/// every category and stack of the session (not only the listed ones), so that one leaking
/// function spread over many size classes is one line.
/// </summary>
public sealed class ReportCallers
{
    /// <summary>What a caller is: the first frame the caller rules do not skip as allocator or runtime code.</summary>
    [JsonPropertyName("rule")] public string Rule { get; set; } = "";
    /// <summary>The native live bytes and blocks the view divides (live_bytes and live_count).</summary>
    [JsonPropertyName("total_bytes")] public long TotalBytes { get; set; }
    [JsonPropertyName("total_count")] public long TotalCount { get; set; }
    /// <summary>Distinct callers in the session; the top ones are listed, the rest summed in unlisted_*.</summary>
    [JsonPropertyName("callers")] public int Callers { get; set; }
    [JsonPropertyName("unlisted_bytes")] public long UnlistedBytes { get; set; }
    [JsonPropertyName("unlisted_count")] public long UnlistedCount { get; set; }
    /// <summary>The biggest callers by live bytes, each with the functions that called it.</summary>
    [JsonPropertyName("bottom_up")] public List<ReportCaller> BottomUp { get; set; } = [];
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
