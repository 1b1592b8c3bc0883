using System.Globalization;

namespace Foom.Symbols.Jit;

/// <summary>
/// The perf-map names the hook gives Python frames (native/foomhook/python.c, perf-python-PID.map
/// in the session): <c>py::QUALNAME FILE:LINE</c>, or <c>py::QUALNAME FILE</c> for instructions
/// Python gives no line. The qualified name holds no space (the hook writes '_' for one); the
/// file may. Python 3.12's own <c>-X perf</c> names (<c>py::QUALNAME:FILE</c>, no space, no line)
/// are not these and stay plain JIT names.
/// </summary>
public static class PythonCodeName
{
    public const string Prefix = "py::";

    /// <summary>Splits a Python frame's name; false for any other perf-map name.</summary>
    /// <param name="function">The function as the report shows it: py::QUALNAME.</param>
    public static bool TryParse(string name, out string function, out string file, out int? line)
    {
        function = file = "";
        line = null;
        if (!name.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        var space = name.IndexOf(' ', Prefix.Length);
        if (space <= Prefix.Length || space == name.Length - 1) return false;
        function = name[..space];
        file = name[(space + 1)..];
        var colon = file.LastIndexOf(':');
        if (colon > 0 && int.TryParse(file.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            line = number;
            file = file[..colon];
        }
        return true;
    }
}
