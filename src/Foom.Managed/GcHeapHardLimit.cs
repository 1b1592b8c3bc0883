using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Foom.Managed;

/// <summary>
/// The .NET GC's heap hard limit for a program, worked out from the outside the way the runtime
/// sets it (gc.cpp, GCHeapHardLimit and GCHeapHardLimitPercent in gcconfig.h): the
/// <c>DOTNET_GCHeapHardLimit</c> setting (hexadecimal; <c>COMPlus_</c> too) or the app's
/// runtimeconfig.json <c>System.GC.HeapHardLimit</c>; else a percentage of the memory limit
/// (<c>GCHeapHardLimitPercent</c>, <c>System.GC.HeapHardLimitPercent</c>); else, in a memory
/// cgroup with a limit, 75 % of it (at least 20 MiB); else none. Environment settings win over
/// runtimeconfig.json, as in the runtime.
/// </summary>
public sealed record GcHeapHardLimit(long? Bytes, string Source)
{
    private const double ContainerShare = 0.75;
    private const long ContainerMinimum = 20L << 20;

    /// <summary>
    /// For the process <paramref name="pid"/>, alive, whose memory cgroup limit is
    /// <paramref name="cgroupLimitBytes"/> (null when it runs in none).
    /// </summary>
    public static GcHeapHardLimit Of(int pid, long? cgroupLimitBytes) =>
        From(DotnetProcess.Environment(pid), RuntimeConfigProperties(pid), cgroupLimitBytes);

    public static GcHeapHardLimit From(IReadOnlyDictionary<string, string> environment, IReadOnlyDictionary<string, string> configProperties, long? cgroupLimitBytes)
    {
        if (Setting(environment, "GCHeapHardLimit") is var (name, text) && ParseHex(text) is > 0 and var bytes)
            return new GcHeapHardLimit(bytes, $"{name}={text} (hexadecimal)");
        if (configProperties.TryGetValue("System.GC.HeapHardLimit", out var configured) && ParseNumber(configured) is > 0 and var configuredBytes)
            return new GcHeapHardLimit(configuredBytes, $"System.GC.HeapHardLimit={configured} in the app's runtimeconfig.json");
        var percent = Setting(environment, "GCHeapHardLimitPercent") is var (percentName, percentText) && ParseHex(percentText) is > 0 and var hex
            ? (Value: hex, Source: $"{percentName}={percentText} (hexadecimal, {hex} %)")
            : configProperties.TryGetValue("System.GC.HeapHardLimitPercent", out var configuredPercent) && ParseNumber(configuredPercent) is > 0 and var number
                ? (Value: number, Source: $"System.GC.HeapHardLimitPercent={configuredPercent} in the app's runtimeconfig.json")
                : (Value: 0L, Source: "");
        if (percent.Value is > 0 and <= 100)
        {
            return cgroupLimitBytes is > 0
                ? new GcHeapHardLimit(cgroupLimitBytes.Value * percent.Value / 100, $"{percent.Source} of the memory cgroup's limit")
                : new GcHeapHardLimit(null, $"{percent.Source} of the machine's memory (no cgroup limit; Foom does not size it)");
        }
        if (cgroupLimitBytes is > 0)
            return new GcHeapHardLimit(Math.Max(ContainerMinimum, (long)(ContainerShare * cgroupLimitBytes.Value)),
                "the runtime's default in a memory cgroup: 75 % of the cgroup's limit");
        return new GcHeapHardLimit(null, "none: no GCHeapHardLimit setting and no memory cgroup limit");
    }

    private static (string Name, string Value)? Setting(IReadOnlyDictionary<string, string> environment, string knob)
    {
        foreach (var prefix in new[] { "DOTNET_", "COMPlus_" })
            if (environment.TryGetValue(prefix + knob, out var value) && value.Trim().Length > 0) return (prefix + knob, value.Trim());
        return null;
    }

    private static long? ParseHex(string text)
    {
        var digits = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? text[2..] : text;
        return long.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    private static long? ParseNumber(string text) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? ParseHex(text)
        : long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>
    /// The configProperties of the app's runtimeconfig.json: beside the .dll that `dotnet` runs, or
    /// beside an apphost; empty when there is none or it cannot be read.
    /// </summary>
    public static Dictionary<string, string> RuntimeConfigProperties(int pid)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        if (RuntimeConfigPath(pid) is not { } path) return properties;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (document.RootElement.TryGetProperty("runtimeOptions", out var options) && options.TryGetProperty("configProperties", out var config)
                && config.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in config.EnumerateObject())
                    properties[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() ?? "" : property.Value.GetRawText();
            }
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or JsonException)
        {
            // An unreadable runtimeconfig.json: the runtime would not have started; nothing to add.
        }
        return properties;
    }

    private static string? RuntimeConfigPath(int pid)
    {
        string[] arguments;
        try
        {
            arguments = Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{pid}/cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var app = arguments.Skip(1).FirstOrDefault(argument => argument.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
                  ?? (arguments.Length > 0 ? arguments[0] : null);
        if (app is null) return null;
        var config = Path.ChangeExtension(app, null) + ".runtimeconfig.json";
        var cwd = $"/proc/{pid}/cwd";
        var full = Path.IsPathRooted(config) ? config : Path.Combine(cwd, config);
        return File.Exists(full) ? full : null;
    }
}
