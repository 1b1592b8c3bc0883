namespace Foom.Server.Api.Models;

/// <summary>
/// A device model's observed app memory limit from one source: JetsamEvent logs (frontmost apps
/// killed at their own limit) or kill records (Foom and Matrix reports of foreground OOMs).
/// last_seen is the time in the log or report (Unix milliseconds).
/// </summary>
public sealed record ApiDeviceLimit(string DeviceModel, string Source, long Observations, long MinBytes, long MaxBytes, long LatestBytes, long LastSeen);
