using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>The exception a .NET program was throwing as it died, read from its heap dump.</summary>
public sealed class ReportDeathException
{
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("message")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Message { get; set; }
    [JsonPropertyName("hresult")] public int HResult { get; set; }
    /// <summary>The throwing thread's managed id.</summary>
    [JsonPropertyName("thread")] public int Thread { get; set; }
    /// <summary>The throwing stack's methods, innermost first.</summary>
    [JsonPropertyName("frames")] public List<string> Frames { get; set; } = [];
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
