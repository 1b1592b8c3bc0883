using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Foom.Report.Model;

namespace Foom.Report.Callers;

/// <summary>
/// Finds a stack's meaningful allocation point (WeChat's monitor's Caller1): the innermost frame that is
/// not part of an allocator or a runtime's allocation path. Frames are skipped from the
/// innermost end while they match the rules; the first frame that does not is the caller.
/// The rules are data (default-caller-rules.json, overridable) so that a new allocator or a
/// wrapper of the app's own can be added without a rebuild. The report builder uses this for
/// each stack's `caller`; the server uses it for the eigenvalue.
/// </summary>
public sealed partial class CallerRules
{
    private readonly Regex[] _skipModules;
    private readonly Regex[] _skipFunctions;
    private readonly Regex[] _skipUnnamedInModules;
    private readonly Regex[] _interpretedFunctions;
    private readonly Regex[] _interpreterModules;

    /// <param name="interpretedFunctions">Frames of interpreted code (Python's py::QUALNAME, docs/hook.md, "Python frames").</param>
    /// <param name="interpreterModules">The interpreters that run them: their frames, named or not, are skipped when an interpreted frame lies further out.</param>
    public CallerRules(IEnumerable<string> skipModules, IEnumerable<string> skipFunctions, IEnumerable<string> skipUnnamedInModules,
        IEnumerable<string>? interpretedFunctions = null, IEnumerable<string>? interpreterModules = null)
    {
        _skipModules = Compile(skipModules, "skip_modules");
        _skipFunctions = Compile(skipFunctions, "skip_functions");
        _skipUnnamedInModules = Compile(skipUnnamedInModules, "skip_unnamed_in_modules");
        _interpretedFunctions = Compile(interpretedFunctions ?? [], "interpreted_functions");
        _interpreterModules = Compile(interpreterModules ?? [], "interpreter_modules");
    }

    /// <summary>The rules shipped with Foom (libc, libstdc++, glib, CPython, .NET, iOS allocators, the hook).</summary>
    public static CallerRules Default { get; } = LoadDefault();

    /// <summary>
    /// Reads a rule file. A broken file is an error that names the file and the problem, never a
    /// silent fall-back to the defaults.
    /// </summary>
    public static CallerRules Load(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Parse(stream, path);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{path}: cannot read the caller rules: {e.Message}", e);
        }
    }

    /// <summary><paramref name="dataDirectoryFile"/> when it exists, else the defaults.</summary>
    public static CallerRules LoadOrDefault(string dataDirectoryFile) =>
        File.Exists(dataDirectoryFile) ? Load(dataDirectoryFile) : Default;

    public static CallerRules Parse(Stream json, string sourceName)
    {
        RuleFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, RuleFileJson.Default.RuleFile);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{sourceName}: not valid caller rules JSON at {e.Path}: {e.Message}", e);
        }
        if (file is null) throw new InvalidDataException($"{sourceName}: the caller rules file is empty");
        try
        {
            return new CallerRules(file.SkipModules ?? [], file.SkipFunctions ?? [], file.SkipUnnamedInModules ?? [],
                file.InterpretedFunctions ?? [], file.InterpreterModules ?? []);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{sourceName}: {e.Message}", e);
        }
    }

    /// <summary>
    /// True when the frame belongs to an allocator or runtime allocation path. A frame without a
    /// function name is skipped only when its module is one that hosts allocators (libc, the .NET
    /// runtime, ...): an unnamed frame elsewhere may well be the app's own code.
    /// </summary>
    public bool IsAllocatorFrame(string? function, string? moduleName)
    {
        var module = ModuleFileName(moduleName);
        if (module is not null && Matches(_skipModules, module)) return true;
        if (!string.IsNullOrEmpty(function)) return Matches(_skipFunctions, function) || Matches(_skipFunctions, BareName(function));
        return module is not null && Matches(_skipUnnamedInModules, module);
    }

    /// <summary>
    /// The index of the caller frame in <paramref name="frames"/> (innermost first), or -1 when
    /// there are no frames. When every frame is an allocator frame, the outermost one is taken,
    /// as Matrix does. Inside an interpreter the meaningful point is the interpreted function, not
    /// the interpreter's C code that allocates for it (a dict's resize, an evaluation frame): the
    /// interpreter's frames inward of the innermost interpreted frame are skipped too.
    /// </summary>
    public int FindCaller(IReadOnlyList<ReportFrame> frames, Func<string, string?> moduleNameOfUuid)
    {
        var interpreted = InnermostInterpreted(frames);
        for (var i = 0; i < frames.Count; i++)
        {
            var frame = frames[i];
            var module = moduleNameOfUuid(frame.Uuid);
            if (IsAllocatorFrame(frame.Function, module)) continue;
            if (i < interpreted && ModuleFileName(module) is { } file && Matches(_interpreterModules, file)) continue;
            return i;
        }
        return frames.Count - 1;
    }

    private int InnermostInterpreted(IReadOnlyList<ReportFrame> frames)
    {
        if (_interpretedFunctions.Length == 0) return -1;
        for (var i = 0; i < frames.Count; i++)
            if (!string.IsNullOrEmpty(frames[i].Function) && Matches(_interpretedFunctions, frames[i].Function!)) return i;
        return -1;
    }

    /// <summary>Whether any rule could judge these frames at all (a name or a known module).</summary>
    public static bool HasEvidence(IReadOnlyList<ReportFrame> frames, Func<string, string?> moduleNameOfUuid) =>
        frames.Any(f => !string.IsNullOrEmpty(f.Function) || moduleNameOfUuid(f.Uuid) is not null);

    /// <summary>"uuid@offset" as Matrix writes a caller (offset in decimal).</summary>
    public static string FormatCaller(ReportFrame frame) => $"{frame.Uuid}@{frame.Offset}";

    /// <summary>
    /// A frame as people read it ("function (module)", or "uuid@offset (module)" when unnamed) and
    /// the key that identifies it across reports ("module!function", or "uuid@offset").
    /// </summary>
    public static (string Display, string Key) Describe(ReportFrame frame, Func<string, string?> moduleNames)
    {
        var module = moduleNames(frame.Uuid);
        if (!string.IsNullOrEmpty(frame.Function))
            return (module is null ? frame.Function : $"{frame.Function} ({module})", module is null ? frame.Function : $"{module}!{frame.Function}");
        var raw = FormatCaller(frame);
        return (module is null ? raw : $"{raw} ({module})", raw);
    }

    /// <summary>A module name resolver over a report's modules table.</summary>
    public static Func<string, string?> ModuleNames(IEnumerable<ReportModule> modules)
    {
        var byUuid = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var module in modules)
            if (!string.IsNullOrEmpty(module.Uuid))
                byUuid.TryAdd(module.Uuid, string.IsNullOrEmpty(module.Name) ? Path.GetFileName(module.Path ?? "") : module.Name);
        return uuid => byUuid.TryGetValue(uuid, out var name) && name.Length > 0 ? name : null;
    }

    private static string? ModuleFileName(string? module)
    {
        if (string.IsNullOrEmpty(module)) return null;
        var slash = module.LastIndexOf('/');
        return slash >= 0 ? module[(slash + 1)..] : module;
    }

    // "std::vector<int>::_M_realloc_insert(...)" keeps its text; "malloc@plt", "foo + 12" and
    // "foo(unsigned long)" are compared by their bare name as well.
    private static string BareName(string function)
    {
        var name = function;
        var plus = name.IndexOf(" + ", StringComparison.Ordinal);
        if (plus > 0) name = name[..plus];
        var at = name.IndexOf('@');
        if (at > 0) name = name[..at];
        if (!name.StartsWith("operator", StringComparison.Ordinal))
        {
            var paren = name.IndexOf('(');
            if (paren > 0) name = name[..paren];
        }
        return name.Trim();
    }

    private static bool Matches(Regex[] patterns, string text)
    {
        foreach (var pattern in patterns)
            if (pattern.IsMatch(text)) return true;
        return false;
    }

    private static Regex[] Compile(IEnumerable<string> patterns, string field) =>
        patterns.Select((p, i) =>
        {
            try
            {
                // Anchored: a rule names whole functions or modules, never a substring of one.
                // NonBacktracking: function names come from uploads, so matching must stay linear.
                return new Regex("^(?:" + p + ")$", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"{field}[{i}] is not a valid regular expression: {e.Message}", e);
            }
        }).ToArray();

    private static CallerRules LoadDefault()
    {
        using var stream = typeof(CallerRules).Assembly.GetManifestResourceStream("Foom.Report.Callers.default-caller-rules.json")
            ?? throw new InvalidOperationException("the default caller rules are missing from Foom.Report");
        return Parse(stream, "default-caller-rules.json");
    }

    [JsonSerializable(typeof(RuleFile))]
    private sealed partial class RuleFileJson : JsonSerializerContext;

    private sealed class RuleFile
    {
        [JsonPropertyName("skip_modules")] public List<string>? SkipModules { get; set; }
        [JsonPropertyName("skip_functions")] public List<string>? SkipFunctions { get; set; }
        [JsonPropertyName("skip_unnamed_in_modules")] public List<string>? SkipUnnamedInModules { get; set; }
        [JsonPropertyName("interpreted_functions")] public List<string>? InterpretedFunctions { get; set; }
        [JsonPropertyName("interpreter_modules")] public List<string>? InterpreterModules { get; set; }
        [JsonPropertyName("comment")] public string? Comment { get; set; }
    }
}
