using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>How one object of a big managed type was kept alive at the death: a GC root, then the references to it.</summary>
public sealed class ReportRootPath
{
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    /// <summary>"static", "stack", "strong_handle", "pinned_handle", "finalizer_queue", …</summary>
    [JsonPropertyName("root_kind")] public string RootKind { get; set; } = "";
    /// <summary>The static field ("Ns.Type.s_cache") or the method whose frame holds the local, when known.</summary>
    [JsonPropertyName("root")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Root { get; set; }
    /// <summary>From the root's object to the object of <see cref="Type"/>.</summary>
    [JsonPropertyName("steps")] public List<ReportRootStep> Steps { get; set; } = [];
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
