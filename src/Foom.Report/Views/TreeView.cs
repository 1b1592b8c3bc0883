using System.Globalization;
using Foom.Report.Callers;

namespace Foom.Report.Views;

/// <summary>
/// The call tree as text, as heaptrack_print prints it: top-down (from the outermost frame to
/// where the memory was asked for) or inverted (the allocating function first, then who called
/// it), each node with its live bytes, its share of the tree and its blocks, so that one cause
/// spread over many size categories reads as one line. Allocator and runtime frames are left
/// out unless asked for; nodes below a share of the whole are left out, and the last line says
/// how many, so that nothing is hidden without a word.
/// </summary>
public static class TreeView
{
    /// <summary>Nodes holding less than this share of the tree's bytes are not printed.</summary>
    public const double MinimumShare = 0.01;
    /// <summary>At most this many nodes are printed, the largest first.</summary>
    public const int MaximumNodes = 300;

    public static void Write(Model.Report report, TextWriter output, bool inverted, bool systemFrames, CallerRules? rules = null)
    {
        var tree = new CallTree(rules ?? CallerRules.Default, report);
        var root = inverted ? tree.Inverted(!systemFrames) : tree.TopDown(!systemFrames);
        var visible = CallTree.Visible(root, Math.Max(1, (long)Math.Ceiling(root.Bytes * MinimumShare)), MaximumNodes);
        output.Write(string.Create(CultureInfo.InvariantCulture,
            $"{(inverted ? "inverted call tree (allocating function first)" : "top-down call tree")}: {FrameLabels.Bytes(root.Bytes)} in {root.Blocks:N0} blocks" +
            $"{(systemFrames ? "" : "; allocator and runtime frames left out")}\n"));
        var hidden = 0;
        foreach (var child in root.Children) Write(child, 0, visible, root.Bytes, output, ref hidden);
        if (hidden > 0)
            output.Write(string.Create(CultureInfo.InvariantCulture,
                $"({hidden:N0} smaller nodes not shown: each under {MinimumShare:P0} of the tree, or past the first {MaximumNodes})\n"));
    }

    private static void Write(CallTreeNode node, int depth, HashSet<CallTreeNode> visible, long total, TextWriter output, ref int hidden)
    {
        if (!visible.Contains(node))
        {
            hidden += 1 + Descendants(node);
            return;
        }
        var share = total > 0 ? (double)node.Bytes / total : 0;
        var where = node.File is { Length: > 0 } file ? $"  {file}{(node.Line is { } line ? $":{line}" : "")}" : "";
        output.Write(string.Create(CultureInfo.InvariantCulture,
            $"{share,7:P1} {FrameLabels.Bytes(node.Bytes),12} {node.Blocks,12:N0}  {new string(' ', 2 * depth)}{node.Name}{where}\n"));
        foreach (var child in node.Children) Write(child, depth + 1, visible, total, output, ref hidden);
    }

    private static int Descendants(CallTreeNode node) => node.Children.Sum(child => 1 + Descendants(child));
}
