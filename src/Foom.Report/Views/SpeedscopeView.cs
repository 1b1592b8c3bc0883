using System.Text.Json;
using System.Text.Json.Serialization;
using Foom.Report.IO;

namespace Foom.Report.Views;

/// <summary>
/// speedscope's file format (https://www.speedscope.app/file-format-schema.json): the report's
/// stacks as two sampled profiles over one shared frame table, "live bytes" (unit bytes) and
/// "live blocks" (unit none). Each sample is a stack, outermost frame first as speedscope wants
/// it, with the category as its leaf frame; a category's unlisted bytes sit under
/// "[stacks not listed]" so that the weights add up to the report's live totals.
/// </summary>
public static class SpeedscopeView
{
    public const string Schema = "https://www.speedscope.app/file-format-schema.json";

    public static SpeedscopeFile Build(Model.Report report, string name)
    {
        var frames = new List<SpeedscopeFrame>();
        var frameIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var bytes = new SpeedscopeProfile { Name = name + " — live bytes", Unit = "bytes" };
        var blocks = new SpeedscopeProfile { Name = name + " — live blocks", Unit = "none" };
        foreach (var path in FoldedStacks.Of(report))
        {
            var sample = new int[path.Frames.Count];
            for (var i = 0; i < sample.Length; i++)
            {
                var label = path.Frames[i];
                if (!frameIndex.TryGetValue(label, out var index))
                {
                    index = frames.Count;
                    frameIndex[label] = index;
                    var source = path.Sources[i];
                    frames.Add(new SpeedscopeFrame { Name = label, File = source?.File, Line = source?.File is null ? null : source.Line });
                }
                sample[i] = index;
            }
            // speedscope refuses negative weights and ignores zero ones.
            if (path.Bytes > 0) bytes.Add(sample, path.Bytes);
            if (path.Count > 0) blocks.Add(sample, path.Count);
        }
        return new SpeedscopeFile
        {
            Name = name,
            Shared = new SpeedscopeShared { Frames = frames },
            Profiles = [bytes, blocks],
        };
    }

    public static void Write(Model.Report report, string name, Stream output) =>
        JsonSerializer.Serialize(output, Build(report, name), ReportJson.TypeInfo<SpeedscopeFile>(ReportJson.Compact));
}

public sealed class SpeedscopeFile
{
    [JsonPropertyName("$schema")] public string Schema { get; set; } = SpeedscopeView.Schema;
    [JsonPropertyName("shared")] public SpeedscopeShared Shared { get; set; } = new();
    [JsonPropertyName("profiles")] public List<SpeedscopeProfile> Profiles { get; set; } = [];
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("activeProfileIndex")] public int ActiveProfileIndex { get; set; }
    [JsonPropertyName("exporter")] public string Exporter { get; set; } = "foom";
}

public sealed class SpeedscopeShared
{
    [JsonPropertyName("frames")] public List<SpeedscopeFrame> Frames { get; set; } = [];
}

public sealed class SpeedscopeFrame
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("file")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? File { get; set; }
    [JsonPropertyName("line")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Line { get; set; }
}

public sealed class SpeedscopeProfile
{
    [JsonPropertyName("type")] public string Type { get; set; } = "sampled";
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("unit")] public string Unit { get; set; } = "bytes";
    [JsonPropertyName("startValue")] public long StartValue { get; set; }
    [JsonPropertyName("endValue")] public long EndValue { get; set; }
    [JsonPropertyName("samples")] public List<int[]> Samples { get; set; } = [];
    [JsonPropertyName("weights")] public List<long> Weights { get; set; } = [];

    public void Add(int[] stack, long weight)
    {
        Samples.Add(stack);
        Weights.Add(weight);
        EndValue += weight;
    }
}
