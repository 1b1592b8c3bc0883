using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>
/// What the hook said about Python frames in one process of the run (python-frames-PID.txt in the
/// session): whether its stacks name Python functions, and if not why (docs/report-format.md,
/// "Python frames").
/// </summary>
public sealed class ReportPythonFrames
{
    [JsonPropertyName("pid")] public int Pid { get; set; }
    /// <summary>recorded, off (FOOM_PYTHON_FRAMES=0), missing (an unsupported Python), partial (some code objects undescribed).</summary>
    [JsonPropertyName("state")] public string State { get; set; } = "";
    [JsonPropertyName("detail")] public string Detail { get; set; } = "";
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }
}
