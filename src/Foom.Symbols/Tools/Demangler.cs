using System.Collections.Concurrent;

namespace Foom.Symbols.Tools;

/// <summary>
/// Demangles C++ symbol-table names (llvm-symbolizer and addr2line demangle their own output;
/// names Foom reads from .symtab or nlist come mangled) with c++filt, in one batch, when it is
/// installed. Without it, names stay mangled. Results are cached.
/// </summary>
internal sealed class Demangler(string? toolPath, TimeSpan timeout)
{
    private readonly ConcurrentDictionary<string, string> _cache = new(StringComparer.Ordinal);

    public static Demangler Find(string? searchPath, TimeSpan timeout) =>
        new(ToolRunner.Find(searchPath, "c++filt", "llvm-cxxfilt"), timeout);

    public bool IsAvailable => toolPath != null;

    public static bool IsMangled(string name) => name.StartsWith("_Z", StringComparison.Ordinal);

    /// <summary>Demangles every mangled name in <paramref name="names"/>; the map holds each name given.</summary>
    public async Task<IReadOnlyDictionary<string, string>> DemangleAsync(IEnumerable<string> names, CancellationToken cancellation)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var pending = new List<string>();
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (!IsMangled(name) || name.Contains('\n')) result[name] = name;
            else if (_cache.TryGetValue(name, out var known)) result[name] = known;
            else pending.Add(name);
        }
        if (pending.Count == 0) return result;
        if (toolPath == null)
        {
            foreach (var name in pending) result[name] = name;
            return result;
        }
        var outcome = await ToolRunner.RunAsync(toolPath, [], string.Join('\n', pending) + "\n", timeout, cancellation);
        var lines = outcome.Output.Replace("\r", "").Split('\n');
        var usable = outcome.Problem == null && lines.Length >= pending.Count;
        for (var i = 0; i < pending.Count; i++)
        {
            var demangled = usable && lines[i].Length > 0 ? lines[i] : pending[i];
            result[pending[i]] = demangled;
            if (usable) _cache[pending[i]] = demangled;
        }
        return result;
    }
}
