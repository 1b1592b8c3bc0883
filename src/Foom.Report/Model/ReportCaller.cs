using System.Text.Json.Serialization;

namespace Foom.Report.Model;

/// <summary>One caller in the caller view, or one of its callers (one frame further out).</summary>
public sealed class ReportCaller
{
    /// <summary>Its function, when a symbol contains the frame; absent otherwise (then <see cref="Caller"/> names it).</summary>
    [JsonPropertyName("function")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Function { get; set; }
    /// <summary>A frame of it, "uuid@offset" as stacks write callers (for an unnamed caller, the frame itself).</summary>
    [JsonPropertyName("caller")] public string Caller { get; set; } = "";
    /// <summary>Its module's file name, when known.</summary>
    [JsonPropertyName("module")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Module { get; set; }
    /// <summary>Its source file, when the symbols say (DWARF for native code; always for a Python function).</summary>
    [JsonPropertyName("file")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? File { get; set; }
    /// <summary>Of its frames' lines, the one holding most of its bytes.</summary>
    [JsonPropertyName("line")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Line { get; set; }
    [JsonPropertyName("size")] public long Size { get; set; }
    [JsonPropertyName("count")] public long Count { get; set; }
    /// <summary>How many categories (size classes, mapping kinds) its blocks fall in, and how many distinct stacks reach it.</summary>
    [JsonPropertyName("categories")] public int Categories { get; set; }
    [JsonPropertyName("stacks")] public int Stacks { get; set; }
    /// <summary>The category holding most of its bytes.</summary>
    [JsonPropertyName("top_category")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? TopCategory { get; set; }
    /// <summary>In a sampled run, where the figures are estimates: the half-widths of their 95 % intervals and the sampled blocks they rest on (docs/report-format.md, "Sampled runs").</summary>
    [JsonPropertyName("size_bound")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? SizeBound { get; set; }
    [JsonPropertyName("count_bound")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CountBound { get; set; }
    [JsonPropertyName("samples")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Samples { get; set; }
    /// <summary>Bottom-up, the next level: who called it, biggest first (absent at the second level).</summary>
    [JsonPropertyName("called_from")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public List<ReportCaller>? CalledFrom { get; set; }
    [JsonExtensionData] public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }

    /// <summary>Its frame (<see cref="Caller"/> parsed, with the function), for what labels and keys frames.</summary>
    public ReportFrame Frame()
    {
        var at = Caller.LastIndexOf('@');
        var offset = at > 0 && ulong.TryParse(Caller.AsSpan(at + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        return new ReportFrame { Uuid = at > 0 ? Caller[..at] : Caller, Offset = offset, Function = Function };
    }
}
