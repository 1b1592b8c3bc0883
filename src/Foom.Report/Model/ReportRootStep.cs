using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>One object on a root path: its type, and the field of the step before that refers to it ("[]" for an array element).</summary>
public sealed class ReportRootStep
{
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("via")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Via { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
