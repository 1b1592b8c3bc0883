using System.Globalization;

namespace Foom.Report.Views;

/// <summary>
/// Brendan Gregg's folded-stack format, weighted by live bytes: one line per stack,
/// "outermost;...;innermost;[category] BYTES". flamegraph.pl, inferno-flamegraph and speedscope
/// read it. Identical paths (the same stack in two categories never is: the leaf differs) are
/// merged, and lines of zero bytes are left out.
/// </summary>
public static class CollapsedView
{
    public static void Write(Model.Report report, TextWriter output)
    {
        var merged = new Dictionary<string, long>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var path in FoldedStacks.Of(report))
        {
            if (path.Bytes <= 0) continue;
            var line = string.Join(';', path.Frames.Select(FoldedStacks.Clean));
            if (merged.TryGetValue(line, out var bytes)) merged[line] = bytes + path.Bytes;
            else { merged[line] = path.Bytes; order.Add(line); }
        }
        foreach (var line in order)
            output.Write(string.Create(CultureInfo.InvariantCulture, $"{line} {merged[line]}\n"));
    }
}
