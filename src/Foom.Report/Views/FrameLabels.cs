using System.Globalization;
using Foom.Report.Model;

namespace Foom.Report.Views;

/// <summary>How the views name a frame and a size.</summary>
public sealed class FrameLabels
{
    private readonly Dictionary<string, string> _moduleNames = new(StringComparer.OrdinalIgnoreCase);

    public FrameLabels(Model.Report report)
    {
        foreach (var module in report.Modules)
            if (!string.IsNullOrEmpty(module.Uuid))
                _moduleNames.TryAdd(module.Uuid, !string.IsNullOrEmpty(module.Name) ? module.Name : Path.GetFileName(module.Path ?? module.Uuid));
    }

    /// <summary>"function" when symbolicated, else "module+0xoffset", else "uuid@offset" (Matrix's form) for an unknown module.</summary>
    public string Label(ReportFrame frame)
    {
        if (!string.IsNullOrEmpty(frame.Function)) return frame.Function;
        if (_moduleNames.TryGetValue(frame.Uuid, out var module))
            return string.Create(CultureInfo.InvariantCulture, $"{module}+0x{frame.Offset:x}");
        if (frame.Uuid.Length == 0) return string.Create(CultureInfo.InvariantCulture, $"0x{frame.Offset:x}");
        return string.Create(CultureInfo.InvariantCulture, $"{frame.Uuid}@{frame.Offset}");
    }

    /// <summary>The label with the source line when known.</summary>
    public string LabelWithSource(ReportFrame frame) =>
        frame.File is { Length: > 0 } file
            ? $"{Label(frame)} ({Path.GetFileName(file)}{(frame.Line is int line ? ":" + line.ToString(CultureInfo.InvariantCulture) : "")})"
            : Label(frame);

    public string ModuleName(string uuid) => _moduleNames.TryGetValue(uuid, out var name) ? name : uuid;

    /// <summary>1023 B, 1.50 KiB, 2.00 MiB, 1.25 GiB.</summary>
    public static string Bytes(long bytes)
    {
        var sign = bytes < 0 ? "-" : "";
        double value = Math.Abs((double)bytes);
        if (value < 1024) return string.Create(CultureInfo.InvariantCulture, $"{sign}{value:0} B");
        string[] units = ["KiB", "MiB", "GiB", "TiB"];
        var unit = -1;
        do { value /= 1024; unit++; } while (value >= 1024 && unit < units.Length - 1);
        return string.Create(CultureInfo.InvariantCulture, $"{sign}{value:0.00} {units[unit]}");
    }
}
