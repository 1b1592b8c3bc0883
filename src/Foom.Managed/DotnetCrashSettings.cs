namespace Foom.Managed;

/// <summary>
/// The environment `foom run` gives a program so that, if it is a .NET program that dies of an
/// unhandled exception (an OutOfMemoryException most of all) or a fatal signal, its runtime writes
/// a crash report into the session (createdump's <c>DOTNET_EnableCrashReportOnly</c>: the crashed
/// thread's exception and stack, no dump, some 0.5 s). Other programs ignore these variables. A
/// program that brings its own dump settings keeps them, and the session says that Foom asked for
/// nothing.
/// </summary>
public static class DotnetCrashSettings
{
    /// <summary>The crash report's name in the session: dotnet-crash.PID.crashreport.json.</summary>
    public const string DumpNamePrefix = "dotnet-crash.";

    private static readonly string[] Knobs = ["DbgEnableMiniDump", "DbgMiniDumpName", "DbgMiniDumpType", "EnableCrashReport", "EnableCrashReportOnly"];

    /// <summary>The variables to add, or none with the reason in <paramref name="leftAlone"/>.</summary>
    public static IReadOnlyDictionary<string, string> For(string sessionDirectory, IReadOnlyDictionary<string, string> programEnvironment, out string? leftAlone)
    {
        leftAlone = null;
        foreach (var knob in Knobs)
        {
            foreach (var name in new[] { "DOTNET_" + knob, "COMPlus_" + knob })
            {
                if (!programEnvironment.TryGetValue(name, out var value)) continue;
                leftAlone = $"the program sets its own .NET dump settings ({name}={value}): Foom asked for no crash report, " +
                            "so a .NET death is told from what the diagnostics port saw";
                return new Dictionary<string, string>();
            }
        }
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DOTNET_DbgEnableMiniDump"] = "1",
            ["DOTNET_EnableCrashReportOnly"] = "1",
            ["DOTNET_DbgMiniDumpName"] = Path.Combine(sessionDirectory, DumpNamePrefix + "%p"),
        };
    }
}
