namespace Foom.Symbols.Tests.Support;

/// <summary>
/// A folder holding links to only some of the machine's tools, used as the symbolizer's tool
/// search path: the real discovery code then sees a machine with addr2line but no
/// llvm-symbolizer, or with none of them.
/// </summary>
public static class ToolSet
{
    public static string With(params string[] tools)
    {
        var folder = Path.Combine(Path.GetTempPath(), "foom-toolset-" + Environment.UserName, tools.Length == 0 ? "none" : string.Join("+", tools));
        Directory.CreateDirectory(folder);
        foreach (var tool in tools)
        {
            var link = Path.Combine(folder, tool);
            if (File.Exists(link)) continue;
            var real = Native.Run("sh", $"-c \"command -v {tool}\"").Trim();
            if (real.Length == 0) throw new InvalidOperationException($"{tool} is not installed; .ci/run installs it");
            try { File.CreateSymbolicLink(link, real); }
            catch (IOException) when (File.Exists(link)) { } // another test made it first
        }
        return folder;
    }
}
