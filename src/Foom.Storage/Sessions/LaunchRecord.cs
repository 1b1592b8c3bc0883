using System.Text.Json.Serialization;

namespace Foom.Storage.Sessions;

/// <summary>
/// A launch record, one per start of an app, carrying how its previous run ended: `foom run`
/// queues one (Foom.Upload), the server counts FOOMs per launch from them (POST /api/v1/launches).
/// One shape for both sides. Every field may be missing in what a server receives, so each is
/// nullable and the server names what is missing; the serialized shape (every property, nulls
/// included, in this order) is also what the server's content id of a record without a
/// launch_id is made of, so properties are not reordered or renamed.
/// </summary>
public sealed class LaunchRecord
{
    [JsonPropertyName("launch_id")] public string? LaunchId { get; set; }
    [JsonPropertyName("app_id")] public string? AppId { get; set; }
    [JsonPropertyName("app_version")] public string? AppVersion { get; set; }
    [JsonPropertyName("device_id")] public string? DeviceId { get; set; }
    [JsonPropertyName("user_id")] public string? UserId { get; set; }
    [JsonPropertyName("phone")] public string? Phone { get; set; }
    [JsonPropertyName("os_ver")] public string? OsVersion { get; set; }
    /// <summary>Milliseconds since the Unix epoch (the server takes seconds too).</summary>
    [JsonPropertyName("launch_time")] public long? LaunchTime { get; set; }
    /// <summary>One of the exit-reason names (<see cref="ExitReasonNames"/>); "first_run" when there was no previous run.</summary>
    [JsonPropertyName("prev_exit_reason")] public string? PrevExitReason { get; set; }
    /// <summary>"observed" or "inferred"; null when the previous run's end is not known.</summary>
    [JsonPropertyName("prev_exit_how")] public string? PrevExitHow { get; set; }
    [JsonPropertyName("prev_app_version")] public string? PrevAppVersion { get; set; }
}
