using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>A module whose frames stayed unnamed, how many, and why.</summary>
public sealed class ReportUnnamedModule
{
    /// <summary>The module's uuid (build-id) as the modules table has it; empty for pcs in no module.</summary>
    [JsonPropertyName("uuid")] public string Uuid { get; set; } = "";
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("unnamed_frames")] public int UnnamedFrames { get; set; }
    /// <summary>Why: the file is missing or was rebuilt, or its symbol table lists only some functions.</summary>
    [JsonPropertyName("reason")] public string Reason { get; set; } = "";
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
