using System.Text.Json.Serialization;

namespace Foom.Server.Ingest;

/// <summary>A launch record: one per start, with how the previous run of the app ended.</summary>
public sealed class LaunchRecord
{
    [JsonPropertyName("launch_id")] public string? LaunchId { get; set; }
    [JsonPropertyName("app_id")] public string? AppId { get; set; }
    [JsonPropertyName("app_version")] public string? AppVersion { get; set; }
    [JsonPropertyName("device_id")] public string? DeviceId { get; set; }
    [JsonPropertyName("user_id")] public string? UserId { get; set; }
    [JsonPropertyName("phone")] public string? Phone { get; set; }
    [JsonPropertyName("os_ver")] public string? OsVersion { get; set; }
    /// <summary>Milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("launch_time")] public long? LaunchTime { get; set; }
    [JsonPropertyName("prev_exit_reason")] public string? PrevExitReason { get; set; }
    [JsonPropertyName("prev_exit_how")] public string? PrevExitHow { get; set; }
    [JsonPropertyName("prev_app_version")] public string? PrevAppVersion { get; set; }
}
