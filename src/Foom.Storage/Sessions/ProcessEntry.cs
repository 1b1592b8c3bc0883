using System.Text.Json.Serialization;

namespace Foom.Storage.Sessions;

/// <summary>
/// One process of a run besides the program (session.json's <c>processes</c>): a child, or any
/// descendant, that the recorder recorded into a session of its own or saw and could not record.
/// docs/architecture.md, "The process tree".
/// </summary>
public sealed class ProcessEntry
{
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("parent_pid")] public int ParentPid { get; set; }
    [JsonPropertyName("command")] public List<string> Command { get; set; } = [];
    /// <summary>Its session, relative to the run's session directory ("processes/1234"); null when it was not recorded.</summary>
    [JsonPropertyName("session")] public string? Session { get; set; }
    /// <summary>Why it was not recorded (static binary, setuid, environment cleared, no spare ring, a fork that never exec'd).</summary>
    [JsonPropertyName("not_recorded")] public string? NotRecorded { get; set; }
    /// <summary>Milliseconds since the Unix epoch: its attach (recorded) or the first sight of it (not recorded).</summary>
    [JsonPropertyName("start_time")] public long StartTime { get; set; }
    /// <summary>When the recorder saw it gone (ms since the epoch); null while it ran at the run's end.</summary>
    [JsonPropertyName("end_time")] public long? EndTime { get; set; }
    /// <summary>How it ended, as its own session says (exit_reason names of docs/exit-reasons.md).</summary>
    [JsonPropertyName("exit_reason")] public string? ExitReason { get; set; }
    /// <summary>Its resident bytes (VmRSS) at the recorder's last reading of /proc before it ended or was killed; for the OOM killer's victim, the kill line's anon + file + shmem rss.</summary>
    [JsonPropertyName("rss_bytes")] public long? RssBytes { get; set; }
    /// <summary>When <see cref="RssBytes"/> was read (ms since the epoch).</summary>
    [JsonPropertyName("rss_time")] public long? RssTime { get; set; }
    /// <summary>Its recorded live heap blocks and mappings at its end (recorded processes only).</summary>
    [JsonPropertyName("live_bytes")] public long? LiveBytes { get; set; }
}
