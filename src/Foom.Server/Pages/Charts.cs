using System.Text.Json;
using System.Text.Json.Serialization;
using Foom.Report.Callers;

namespace Foom.Server.Pages;

/// <summary>One line of a chart: a value per x of the chart (null where it has none).</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double?> Values, bool Dashed = false);

/// <summary>A vertical mark at <see cref="X"/> (a memory warning), labelled on hover.</summary>
public sealed record ChartMarker(double X, string Label);

/// <summary>
/// A time series drawn in the browser by uPlot (Static/foom.js). <see cref="XAxis"/> is "day" (x in
/// Unix seconds of UTC days) or "seconds" (since the run's start); <see cref="YAxis"/> is "percent"
/// (shares, 0 to 1), "bytes" or "count". <see cref="Note"/> says what the reader should know about the data.
/// </summary>
public sealed record LineChart(string Id, string Title, string XAxis, string YAxis, IReadOnlyList<double> Xs, IReadOnlyList<ChartSeries> Series,
    IReadOnlyList<ChartMarker> Markers, string? Note = null)
{
    public bool IsEmpty => Xs.Count == 0;
}

/// <summary>The pages' charts as JSON for Static/foom.js, which draws them with the vendored libraries.</summary>
public static class Charts
{
    // The default encoder escapes <, >, & and quotes, so the JSON can sit inside a <script> element.
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Json(LineChart chart) => JsonSerializer.Serialize(chart, Options);

    /// <summary>
    /// The flame graph's tree for d3-flame-graph ({name, value, blocks, file, line, children}):
    /// value is the bytes through the node. Only the <paramref name="visible"/> nodes are written
    /// (<see cref="CallTree.Visible"/>); the rest of each node's children are summed into one
    /// "[smaller]" node, so the bytes still add up.
    /// </summary>
    public static string FlameJson(CallTreeNode root, IReadOnlySet<CallTreeNode> visible)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
            WriteNode(json, root, visible, 0);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private const int MaxDepth = 200;

    private static void WriteNode(Utf8JsonWriter json, CallTreeNode node, IReadOnlySet<CallTreeNode> visible, int depth)
    {
        json.WriteStartObject();
        json.WriteString("name", node.Name);
        json.WriteNumber("value", node.Bytes);
        json.WriteNumber("blocks", node.Blocks);
        if (node.File is not null) json.WriteString("file", node.File);
        if (node.Line is not null) json.WriteNumber("line", node.Line.Value);
        if (node.HasChildren && depth < MaxDepth)
        {
            json.WriteStartArray("children");
            long smallBytes = 0, smallBlocks = 0;
            foreach (var child in node.Children)
            {
                if (!visible.Contains(child))
                {
                    smallBytes += child.Bytes;
                    smallBlocks += child.Blocks;
                    continue;
                }
                WriteNode(json, child, visible, depth + 1);
            }
            if (smallBytes > 0)
            {
                json.WriteStartObject();
                json.WriteString("name", "[smaller]");
                json.WriteNumber("value", smallBytes);
                json.WriteNumber("blocks", smallBlocks);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }
}
