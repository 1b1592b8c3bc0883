using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>
/// How many of the report's frames got a name where it was made, which modules' frames did not
/// and why, and how to get them named (docs/report-format.md, "Symbols"). A frame is named only by
/// a symbol that contains its address; the rest read module+0xOFFSET.
/// </summary>
public sealed class ReportSymbols
{
    /// <summary>Distinct frames looked up for the report: its listed stacks' and every stack's the caller view counts.</summary>
    [JsonPropertyName("frames")] public int Frames { get; set; }
    /// <summary>Of those, the frames no symbol holds (shown as module+0xOFFSET).</summary>
    [JsonPropertyName("unnamed_frames")] public int UnnamedFrames { get; set; }
    /// <summary>The modules with unnamed frames, most first.</summary>
    [JsonPropertyName("unnamed_by_module")] public List<ReportUnnamedModule> UnnamedByModule { get; set; } = [];
    /// <summary>What would name them; absent when every frame is named.</summary>
    [JsonPropertyName("how_to_name")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? HowToName { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
