using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Foom.Server.Analysis;

/// <summary>One known cause: where it shows in an eigenvalue, and what to do about it.</summary>
public sealed class Hint
{
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("title")] public string Title { get; set; } = "";
    [JsonPropertyName("category")] public string? Category { get; set; }
    [JsonPropertyName("caller")] public string? Caller { get; set; }
    [JsonPropertyName("reason_kind")] public string? ReasonKind { get; set; }
    [JsonPropertyName("advice")] public string Advice { get; set; } = "";
}

/// <summary>
/// The editable rule set that matches eigenvalues to the known causes of memory deaths (WeChat's
/// monitor's "Common Questions", docs/design.md, and their Linux and .NET kin). Defaults ship inside the server;
/// hints.json in the server's data folder replaces them and can be edited on the Hints page.
/// </summary>
public sealed class HintRules
{
    private readonly List<(Hint Hint, Regex? Category, Regex? Caller, Regex? ReasonKind)> _rules;

    private HintRules(List<Hint> hints, string json)
    {
        Hints = hints;
        Json = json;
        _rules = hints.Select((h, i) => (h, Compile(h.Category, i, "category"), Compile(h.Caller, i, "caller"), Compile(h.ReasonKind is null ? null : "^(?:" + h.ReasonKind + ")$", i, "reason_kind"))).ToList();
    }

    public IReadOnlyList<Hint> Hints { get; }

    /// <summary>The text the rules came from, for the editor.</summary>
    public string Json { get; }

    public static string DefaultJson
    {
        get
        {
            using var stream = typeof(HintRules).Assembly.GetManifestResourceStream("Foom.Server.Analysis.default-hints.json")
                ?? throw new InvalidOperationException("the default hints are missing from Foom.Server");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    public static HintRules Default { get; } = Parse(DefaultJson, "default-hints.json");

    /// <summary>Reads a rule set; a mistake is an error naming the source, the rule and the field.</summary>
    public static HintRules Parse(string json, string sourceName)
    {
        HintFile? file;
        try
        {
            file = JsonSerializer.Deserialize<HintFile>(json, new JsonSerializerOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{sourceName}: not valid hints JSON at {e.Path}: {e.Message}", e);
        }
        if (file?.Hints is null) throw new InvalidDataException($"{sourceName}: the field hints (an array) is missing");
        for (var i = 0; i < file.Hints.Count; i++)
        {
            var hint = file.Hints[i] ?? throw new InvalidDataException($"{sourceName}: hints[{i}] is null");
            if (string.IsNullOrWhiteSpace(hint.Id) || string.IsNullOrWhiteSpace(hint.Title) || string.IsNullOrWhiteSpace(hint.Advice))
                throw new InvalidDataException($"{sourceName}: hints[{i}] needs an id, a title and advice");
            if (hint.Category is null && hint.Caller is null && hint.ReasonKind is null)
                throw new InvalidDataException($"{sourceName}: hints[{i}] ({hint.Id}) has no pattern (category, caller or reason_kind), so it would match every issue");
        }
        try
        {
            return new HintRules(file.Hints, json);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{sourceName}: {e.Message}", e);
        }
    }

    public static HintRules LoadOrDefault(string path) => File.Exists(path) ? Parse(File.ReadAllText(path), path) : Default;

    /// <summary>The hints whose every pattern matches the eigenvalue.</summary>
    public IReadOnlyList<Hint> Match(string category, string? caller1, string? caller2, string reasonKind)
    {
        var callers = $"{caller1}\n{caller2}";
        return _rules.Where(r =>
                (r.Category is null || r.Category.IsMatch(category))
                && (r.Caller is null || r.Caller.IsMatch(callers))
                && (r.ReasonKind is null || r.ReasonKind.IsMatch(reasonKind)))
            .Select(r => r.Hint).ToList();
    }

    private static Regex? Compile(string? pattern, int index, string field)
    {
        if (pattern is null) return null;
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase | RegexOptions.NonBacktracking);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"hints[{index}].{field} is not a valid regular expression: {e.Message}", e);
        }
    }

    private sealed class HintFile
    {
        [JsonPropertyName("comment")] public string? Comment { get; set; }
        [JsonPropertyName("hints")] public List<Hint>? Hints { get; set; }
    }
}
