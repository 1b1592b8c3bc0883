namespace Foom.Managed;

/// <summary>
/// The environment `foom run` gives a program so that, if it is a .NET program that dies of an
/// unhandled exception (an OutOfMemoryException most of all) or a fatal signal, its runtime writes
/// into the session a crash report (the crashed thread's exception and stack) and a heap dump
/// (createdump's dump type 2: the GC heap and every private writable mapping), which
/// <see cref="HeapDumpReader"/> reads after the death. Other programs ignore these variables. A
/// program that brings its own dump settings keeps them, and the session says that Foom asked for
/// nothing. When the session's disk lacks room for a dump, only the crash report is asked for
/// (<c>DOTNET_EnableCrashReportOnly</c>, some 0.5 s) and the session says why.
/// </summary>
public static class DotnetCrashSettings
{
    /// <summary>The dump's name in the session: dotnet-crash.PID (its crash report: dotnet-crash.PID.crashreport.json).</summary>
    public const string DumpNamePrefix = "dotnet-crash.";

    /// <summary>createdump's "with heap" dump type: the managed heap and the runtime's data, what ClrMD needs.</summary>
    public const string HeapDumpType = "2";

    /// <summary>
    /// A heap dump of a .NET 10 program measured 1.8 times its GC heap (docs/benchmarks.md, "The
    /// heap at death"); the room asked for is twice the memory the program may use.
    /// </summary>
    public const long RoomPerMemoryByte = 2;

    private static readonly string[] Knobs = ["DbgEnableMiniDump", "DbgMiniDumpName", "DbgMiniDumpType", "EnableCrashReport", "EnableCrashReportOnly"];

    /// <summary>
    /// The variables to add, or none with the reason in <paramref name="leftAlone"/>; when only the
    /// crash report is asked for, <paramref name="noDump"/> says why there will be no heap dump.
    /// </summary>
    /// <param name="memoryBytes">What the program may use: the limit, else the machine's memory.</param>
    /// <param name="freeBytes">Free bytes on the session's file system (null: unknown, a dump is asked for).</param>
    public static IReadOnlyDictionary<string, string> For(string sessionDirectory, IReadOnlyDictionary<string, string> programEnvironment,
        long memoryBytes, long? freeBytes, out string? leftAlone, out string? noDump)
    {
        leftAlone = null;
        noDump = null;
        foreach (var knob in Knobs)
        {
            foreach (var name in new[] { "DOTNET_" + knob, "COMPlus_" + knob })
            {
                if (!programEnvironment.TryGetValue(name, out var value)) continue;
                leftAlone = $"the program sets its own .NET dump settings ({name}={value}): Foom asked for no crash report or heap dump, " +
                            "so a .NET death is told from what the diagnostics port saw";
                return new Dictionary<string, string>();
            }
        }
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DOTNET_DbgEnableMiniDump"] = "1",
            ["DOTNET_DbgMiniDumpName"] = Path.Combine(sessionDirectory, DumpNamePrefix + "%p"),
        };
        var room = RoomPerMemoryByte * memoryBytes;
        if (freeBytes is { } free && free < room)
        {
            noDump = $"no heap dump was asked for: the session's disk had {free >> 20} MiB free, less than twice the memory the program may use " +
                     $"({memoryBytes >> 20} MiB); only the crash report was";
            settings["DOTNET_EnableCrashReportOnly"] = "1";
            return settings;
        }
        settings["DOTNET_DbgMiniDumpType"] = HeapDumpType;
        settings["DOTNET_EnableCrashReport"] = "1";
        return settings;
    }

    /// <summary>Free bytes for an unprivileged writer on the file system holding <paramref name="directory"/>, or null when it cannot be told.</summary>
    public static long? FreeBytes(string directory)
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(directory)).AvailableFreeSpace;
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
