using System.Text.Json.Serialization;

namespace Foom.Storage.Managed;

/// <summary>An exception the runtime reported as thrown (its ExceptionThrown_V1 event), with the throwing thread's managed stack.</summary>
public sealed class ManagedExceptionEvent
{
    /// <summary>When it was thrown (ms since the epoch).</summary>
    [JsonPropertyName("time")] public long Time { get; set; }
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("message")] public string? Message { get; set; }
    /// <summary>The throwing thread's managed methods, innermost first.</summary>
    [JsonPropertyName("frames")] public List<string> Frames { get; set; } = [];
}
