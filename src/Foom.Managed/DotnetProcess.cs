using System.Globalization;
using System.Text;
using Foom.Storage.Sessions;

namespace Foom.Managed;

/// <summary>What /proc says about a process's .NET runtime: whether CoreCLR is loaded, its version, its diagnostics port.</summary>
public sealed record DotnetSighting(string CoreClrPath, Version? RuntimeVersion, string? DiagnosticSocket);

/// <summary>
/// Finds a .NET runtime in a process from the outside, without touching it: CoreCLR in
/// /proc/PID/maps (its folder names the version for a shared-framework app), and the diagnostics
/// socket the runtime opens in its temporary folder (dotnet-diagnostic-PID-*-socket). When
/// CoreCLR is there but no socket is, <see cref="WhyNoPort"/> says why, from the program's
/// environment and the runtime's version.
/// </summary>
public static class DotnetProcess
{
    /// <summary>The first runtime whose diagnostics port can take a heap census over EventPipe (as dotnet-gcdump needs).</summary>
    public static readonly Version FirstCensusRuntime = new(3, 1);

    /// <summary>The first runtime with randomized allocation sampling (the AllocationSampled event) and per-event filters.</summary>
    public static readonly Version FirstAllocationSampledRuntime = new(10, 0);

    /// <summary>Null when no CoreCLR is mapped into the process (not .NET, not yet, or gone).</summary>
    public static DotnetSighting? Look(int pid)
    {
        var coreClr = CoreClrPath(pid);
        if (coreClr is null) return null;
        return new DotnetSighting(coreClr, VersionOf(coreClr), DiagnosticSocket(pid));
    }

    /// <summary>
    /// The runtime's version: the product version of the System.Private.CoreLib.dll beside
    /// libcoreclr.so (a self-contained app's folder says nothing else), else the shared
    /// framework's folder name.
    /// </summary>
    public static Version? VersionOf(string coreClrPath)
    {
        var coreLib = Path.Combine(Path.GetDirectoryName(coreClrPath) ?? "", "System.Private.CoreLib.dll");
        try
        {
            if (File.Exists(coreLib) && ParseRelease(System.Diagnostics.FileVersionInfo.GetVersionInfo(coreLib).ProductVersion) is { } version)
                return version;
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or BadImageFormatException)
        {
            // Unreadable: the folder name may still say.
        }
        return VersionFromPath(coreClrPath);
    }

    /// <summary>"8.0.31+1219a42" or "11.0.0-preview.3.25" → the release number.</summary>
    private static Version? ParseRelease(string? text) =>
        Version.TryParse((text ?? "").Split('+', 2)[0].Split('-', 2)[0], out var version) ? version : null;

    /// <summary>The path of libcoreclr.so mapped into the process, if any.</summary>
    public static string? CoreClrPath(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/maps"))
            {
                // "start-end perms offset dev inode   path": the path is the last field.
                var slash = line.IndexOf('/');
                if (slash < 0) continue;
                var path = line.AsSpan(slash);
                if (path.EndsWith("/libcoreclr.so", StringComparison.Ordinal)) return path.ToString();
            }
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            // The process is gone, or not ours to read.
        }
        return null;
    }

    /// <summary>
    /// A shared-framework runtime lives in .../Microsoft.NETCore.App/&lt;version&gt;/libcoreclr.so;
    /// a self-contained app's folder says nothing, and its version stays unknown.
    /// </summary>
    public static Version? VersionFromPath(string coreClrPath)
    {
        return ParseRelease(Path.GetFileName(Path.GetDirectoryName(coreClrPath) ?? ""));
    }

    /// <summary>
    /// The runtime's diagnostics socket, in the program's own temporary folder ($TMPDIR, else /tmp):
    /// dotnet-diagnostic-PID-STARTTIME-socket. A killed runtime leaves its socket behind, so the
    /// start time (clock ticks since boot, field 22 of /proc/PID/stat) is what tells this process's
    /// socket from a stale one of an earlier process with the same pid.
    /// </summary>
    public static string? DiagnosticSocket(int pid)
    {
        if (ProcessStat.Read(pid) is not { } stat) return null;
        var folder = Environment(pid).GetValueOrDefault("TMPDIR") is { Length: > 0 } tmp ? tmp : "/tmp";
        var socket = Path.Combine(folder, $"dotnet-diagnostic-{pid}-{stat.StartTicks.ToString(CultureInfo.InvariantCulture)}-socket");
        return File.Exists(socket) ? socket : null;
    }

    /// <summary>
    /// The setting in the program's environment that turns its diagnostics port off, in one
    /// sentence; null when none does. Known as soon as CoreCLR is seen: no port will ever open, so
    /// there is nothing to wait for (a program killed within the grace period still gets its reason).
    /// </summary>
    public static string? PortTurnedOff(int pid) => PortTurnedOff(Environment(pid));

    /// <summary>Why a process with CoreCLR has no diagnostics port that Foom can use, in one sentence.</summary>
    public static string WhyNoPort(int pid, Version? runtime, TimeSpan waited)
    {
        var environment = Environment(pid);
        if (PortTurnedOff(environment) is { } turnedOff) return turnedOff;
        if (environment.TryGetValue("DOTNET_DiagnosticPorts", out var ports) && ports.Length > 0)
            return $"the program's diagnostics port was moved by DOTNET_DiagnosticPorts={ports}, so Foom could not reach it to count its managed heap";
        if (runtime is not null && runtime < FirstCensusRuntime)
            return $"its .NET runtime {runtime} is older than .NET Core {FirstCensusRuntime}, the first whose diagnostics port can count the managed heap";
        return $"the .NET runtime{(runtime is null ? "" : " " + runtime)} opened no diagnostics port within {waited.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s, so its managed heap could not be counted";
    }

    private static string? PortTurnedOff(Dictionary<string, string> environment)
    {
        foreach (var name in new[] { "DOTNET_EnableDiagnostics", "COMPlus_EnableDiagnostics", "DOTNET_EnableDiagnostics_IPC", "COMPlus_EnableDiagnostics_IPC" })
        {
            if (environment.TryGetValue(name, out var value) && value.Trim() == "0")
                return $"the program runs with {name}=0, which turns off the .NET runtime's diagnostics port, so its managed heap could not be counted";
        }
        return null;
    }

    /// <summary>The process's environment as it started (/proc/PID/environ); empty when it cannot be read.</summary>
    public static Dictionary<string, string> Environment(int pid)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var raw = File.ReadAllBytes($"/proc/{pid}/environ");
            foreach (var entry in Encoding.UTF8.GetString(raw).Split('\0', StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = entry.IndexOf('=');
                if (equals > 0) variables[entry[..equals]] = entry[(equals + 1)..];
            }
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            // Gone, or not ours: nothing known.
        }
        return variables;
    }
}
