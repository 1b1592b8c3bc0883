namespace Foom.Server.Api.Models;

/// <summary>
/// Launches of one version on one UTC day. Each launch reports how the previous run on its
/// device ended, so a run is counted on the day of the next launch; the rates are those ends
/// over <see cref="PreviousRuns"/> (launches that had a previous run: a first run has none).
/// </summary>
public sealed record ApiRate(string Day, string Version, long Launches, long PreviousRuns, long Fooms, long Watchdogs, long Crashes,
    double FoomRate, double WatchdogRate, double CrashRate);
