using System.Globalization;
using System.Net;
using System.Text;
using Foom.Report.Callers;
using Foom.Report.Model;
using Foom.Server.Analysis;
using Microsoft.AspNetCore.Html;
using ReportDocument = Foom.Report.Model.Report;

namespace Foom.Server.Pages;

/// <summary>
/// Inline SVG for the pages: line charts, the footprint timeline and the flame graph. Built as
/// text here so that the pages need no script and no front-end build; every piece of text that
/// came from an upload goes through <see cref="E"/>.
/// </summary>
public static class Charts
{
    private static readonly string[] Palette = ["#2f6fdf", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5c940d"];

    public sealed record Series(string Name, IReadOnlyList<(double X, double Y)> Points);

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    private static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A line chart; <paramref name="xLabel"/> and <paramref name="yLabel"/> format the axes' ticks.</summary>
    public static HtmlString LineChart(string title, IReadOnlyList<Series> series, Func<double, string> xLabel, Func<double, string> yLabel,
        double? yMaxAtLeast = null, (double Y, string Label)? horizontalLine = null, IReadOnlyList<(double X, string Label)>? markers = null,
        string? cssClass = null)
    {
        const int width = 760, height = 240, left = 70, right = 16, top = 26, bottom = 34;
        var all = series.SelectMany(s => s.Points).ToList();
        var sb = new StringBuilder();
        sb.Append($"<svg class=\"chart {E(cssClass)}\" role=\"img\" aria-label=\"{E(title)}\" viewBox=\"0 0 {width} {height + 18 * ((series.Count + 3) / 4)}\" width=\"{width}\" xmlns=\"http://www.w3.org/2000/svg\">");
        sb.Append($"<text x=\"{left}\" y=\"16\" class=\"chart-title\">{E(title)}</text>");
        if (all.Count == 0)
        {
            sb.Append($"<text x=\"{left}\" y=\"{top + 40}\" class=\"chart-empty\">no data yet</text></svg>");
            return new HtmlString(sb.ToString());
        }
        double minX = all.Min(p => p.X), maxX = all.Max(p => p.X);
        if (maxX <= minX) maxX = minX + 1;
        var maxY = Math.Max(all.Max(p => p.Y), Math.Max(yMaxAtLeast ?? 0, horizontalLine?.Y ?? 0));
        if (maxY <= 0) maxY = 1;
        maxY *= 1.08;
        double X(double x) => left + (x - minX) / (maxX - minX) * (width - left - right);
        double Y(double y) => top + (1 - y / maxY) * (height - top - bottom);
        // Axes and ticks.
        sb.Append($"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" class=\"axis\"/>");
        sb.Append($"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" class=\"axis\"/>");
        for (var i = 0; i <= 4; i++)
        {
            var v = maxY / 1.08 * i / 4;
            sb.Append($"<line x1=\"{left}\" y1=\"{F(Y(v))}\" x2=\"{width - right}\" y2=\"{F(Y(v))}\" class=\"grid\"/>");
            sb.Append($"<text x=\"{left - 6}\" y=\"{F(Y(v) + 4)}\" text-anchor=\"end\" class=\"tick\">{E(yLabel(v))}</text>");
        }
        var xs = all.Select(p => p.X).Distinct().Order().ToList();
        var step = Math.Max(1, xs.Count / 6);
        for (var i = 0; i < xs.Count; i += step)
            sb.Append($"<text x=\"{F(X(xs[i]))}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\" class=\"tick\">{E(xLabel(xs[i]))}</text>");
        if (horizontalLine is { } line)
        {
            sb.Append($"<line x1=\"{left}\" y1=\"{F(Y(line.Y))}\" x2=\"{width - right}\" y2=\"{F(Y(line.Y))}\" class=\"limit\"/>");
            sb.Append($"<text x=\"{width - right - 4}\" y=\"{F(Y(line.Y) - 4)}\" text-anchor=\"end\" class=\"limit-label\">{E(line.Label)}</text>");
        }
        foreach (var (x, label) in markers ?? [])
            sb.Append($"<line x1=\"{F(X(x))}\" y1=\"{top}\" x2=\"{F(X(x))}\" y2=\"{height - bottom}\" class=\"marker\"><title>{E(label)}</title></line>");
        for (var s = 0; s < series.Count; s++)
        {
            var color = Palette[s % Palette.Length];
            var points = series[s].Points.OrderBy(p => p.X).ToList();
            if (points.Count == 1)
                sb.Append($"<circle cx=\"{F(X(points[0].X))}\" cy=\"{F(Y(points[0].Y))}\" r=\"3\" fill=\"{color}\"><title>{E(series[s].Name)}: {E(yLabel(points[0].Y))}</title></circle>");
            else
                sb.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(' ', points.Select(p => $"{F(X(p.X))},{F(Y(p.Y))}"))}\"><title>{E(series[s].Name)}</title></polyline>");
            var lx = left + s % 4 * 170;
            var ly = height + 6 + s / 4 * 18;
            sb.Append($"<rect x=\"{lx}\" y=\"{ly}\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{lx + 14}\" y=\"{ly + 9}\" class=\"legend\">{E(series[s].Name)}</text>");
        }
        sb.Append("</svg>");
        return new HtmlString(sb.ToString());
    }

    /// <summary>A flame graph of live bytes: outermost frames at the bottom, categories on top.</summary>
    public static HtmlString FlameGraph(ReportDocument report, int width = 1100)
    {
        var names = CallerRules.ModuleNames(report.Modules);
        var root = new Node("all");
        foreach (var item in report.Items)
        {
            long listed = 0;
            foreach (var stack in item.Stacks)
            {
                listed += stack.Size;
                var node = root;
                for (var f = stack.Frames.Count - 1; f >= 0; f--) node = node.Child(ReportAnalyzer.Describe(stack.Frames[f], names).Display);
                node.Child("▣ " + item.Name).Add(stack.Size);
                AddUp(root, stack.Frames, names, stack.Size);
            }
            var unlisted = item.Size - listed;
            if (unlisted > 0)
            {
                root.Child("[stacks not in the report]").Child("▣ " + item.Name).Add(unlisted);
                root.Size += unlisted;
                root.Child("[stacks not in the report]").Size += unlisted;
            }
        }
        if (root.Size <= 0) return new HtmlString("<p class=\"muted\">No live bytes to draw.</p>");
        var depth = Math.Min(root.Depth(), 80);
        const int row = 17;
        var height = depth * row + 4;
        var sb = new StringBuilder();
        sb.Append($"<svg class=\"flame\" role=\"img\" aria-label=\"flame graph of live bytes\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" xmlns=\"http://www.w3.org/2000/svg\">");
        Draw(sb, root, 0, width, 0, depth, row, height, root.Size);
        sb.Append("</svg>");
        return new HtmlString(sb.ToString());
    }

    // Sizes of inner nodes are the sums of their stacks; the leaf Add above only sets leaves.
    private static void AddUp(Node root, List<ReportFrame> frames, Func<string, string?> names, long size)
    {
        root.Size += size;
        var node = root;
        for (var f = frames.Count - 1; f >= 0; f--)
        {
            node = node.Child(ReportAnalyzer.Describe(frames[f], names).Display);
            node.Size += size;
        }
    }

    private static void Draw(StringBuilder sb, Node node, double x, double w, int level, int maxDepth, int row, int height, long total)
    {
        if (w < 0.4 || level >= maxDepth) return;
        var y = height - (level + 1) * row;
        var hue = node.Name.StartsWith('▣') ? 205 : 10 + Math.Abs(node.Name.GetHashCode(StringComparison.Ordinal)) % 50;
        var share = (double)node.Size / total;
        var label = $"{node.Name} — {ReportAnalyzer.Bytes(node.Size)} ({share:P1})";
        sb.Append($"<g><title>{E(label)}</title><rect x=\"{F(x)}\" y=\"{y}\" width=\"{F(Math.Max(w - 0.5, 0.3))}\" height=\"{row - 1}\" fill=\"hsl({hue},80%,62%)\"/>");
        if (w > 40)
        {
            var chars = (int)(w / 6.5);
            var text = node.Name.Length > chars ? node.Name[..Math.Max(0, chars - 1)] + "…" : node.Name;
            sb.Append($"<text x=\"{F(x + 3)}\" y=\"{y + row - 5}\" class=\"flame-text\">{E(text)}</text>");
        }
        sb.Append("</g>");
        var childX = x;
        foreach (var child in node.Children.Values.OrderByDescending(c => c.Size))
        {
            var cw = w * child.Size / Math.Max(1, node.Size);
            Draw(sb, child, childX, cw, level + 1, maxDepth, row, height, total);
            childX += cw;
        }
    }

    private sealed class Node(string name)
    {
        public string Name { get; } = name;
        public long Size { get; set; }
        public Dictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);

        public Node Child(string childName)
        {
            if (!Children.TryGetValue(childName, out var child)) Children[childName] = child = new Node(childName);
            return child;
        }

        public void Add(long size) => Size += size;

        public int Depth() => 1 + (Children.Count == 0 ? 0 : Children.Values.Max(c => c.Depth()));
    }
}
