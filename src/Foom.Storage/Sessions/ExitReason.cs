namespace Foom.Storage.Sessions;

/// <summary>
/// Why a run ended, with the names of docs/exit-reasons.md. docs/exit-reasons.md tables
/// the rules that pick one.
/// </summary>
public enum ExitReason
{
    Unknown,
    FirstRun,
    AppUpgraded,
    OsUpgraded,
    OsReboot,
    Crash,
    Exit,
    UserQuit,
    Debugger,
    BackgroundOom,
    SuspendedOom,
    ForegroundOom,
    Watchdog,
}

/// <summary>How an exit reason was known.</summary>
public enum ExitHow
{
    /// <summary>The recorder saw the death: wait status, cgroup counters, kernel log, its own kill.</summary>
    Observed,
    /// <summary>Decided at the next launch by ruling out every other reason.</summary>
    Inferred,
}

public static class ExitReasonNames
{
    private static readonly Dictionary<ExitReason, string> Names = new()
    {
        [ExitReason.Unknown] = "unknown",
        [ExitReason.FirstRun] = "first_run",
        [ExitReason.AppUpgraded] = "app_upgraded",
        [ExitReason.OsUpgraded] = "os_upgraded",
        [ExitReason.OsReboot] = "os_reboot",
        [ExitReason.Crash] = "crash",
        [ExitReason.Exit] = "exit",
        [ExitReason.UserQuit] = "user_quit",
        [ExitReason.Debugger] = "debugger",
        [ExitReason.BackgroundOom] = "background_oom",
        [ExitReason.SuspendedOom] = "suspended_oom",
        [ExitReason.ForegroundOom] = "foreground_oom",
        [ExitReason.Watchdog] = "watchdog",
    };

    private static readonly Dictionary<string, ExitReason> ByName =
        Names.ToDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    public static string Name(this ExitReason reason) => Names[reason];

    public static string Name(this ExitHow how) => how == ExitHow.Observed ? "observed" : "inferred";

    public static bool TryParse(string? name, out ExitReason reason) =>
        ByName.TryGetValue(name ?? "", out reason);

    public static IReadOnlyCollection<string> All => Names.Values;
}
