using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>One process of the run in <see cref="ReportProcessTree"/>.</summary>
public sealed class ReportProcess
{
    [JsonPropertyName("pid")] public int Pid { get; set; }
    /// <summary>0 for the program Foom started.</summary>
    [JsonPropertyName("parent_pid")] public int ParentPid { get; set; }
    [JsonPropertyName("command")] public List<string> Command { get; set; } = [];
    /// <summary>Its session directory relative to the run's; null for the program itself and for processes not recorded.</summary>
    [JsonPropertyName("session")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Session { get; set; }
    /// <summary>Why it was not recorded; null when it was.</summary>
    [JsonPropertyName("not_recorded")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? NotRecorded { get; set; }
    [JsonPropertyName("exit_reason")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ExitReason { get; set; }
    /// <summary>Resident bytes at the last /proc reading before its end (the victim: the kill line's), with when.</summary>
    [JsonPropertyName("rss_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? RssBytes { get; set; }
    [JsonPropertyName("rss_time")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? RssTime { get; set; }
    /// <summary>Recorded live bytes (heap blocks and mappings) at its end.</summary>
    [JsonPropertyName("live_bytes")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? LiveBytes { get; set; }
}
