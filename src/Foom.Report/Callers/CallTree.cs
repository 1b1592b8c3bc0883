using Foom.Report.Model;
using ReportDocument = Foom.Report.Model.Report;

namespace Foom.Report.Callers;

/// <summary>
/// Call trees over a report's stacks, as heaptrack shows them: top-down (outermost frame at the
/// root, where the memory was asked for below) and inverted (the allocating caller at the root,
/// who called it below). A frame is a function in its module, so one cause spread over many size
/// categories adds up in one node. Allocator and runtime frames (the caller rules') can be left
/// out. The input is a list of weighted stacks, so the tree can be fed from the report's
/// categories. `foom report --format tree` prints it, and the server's report page draws it.
/// </summary>
public sealed class CallTree
{
    /// <summary>The node for the bytes of a category that the report lists no stack for.</summary>
    public const string Unlisted = "[stacks not in the report]";

    private readonly CallerRules _rules;
    private readonly Func<string, string?> _moduleNames;

    public CallTree(CallerRules rules, ReportDocument report)
    {
        _rules = rules;
        _moduleNames = CallerRules.ModuleNames(report.Modules);
        Stacks = StacksOf(report);
        Root = new CallTreeNode("all", null, null);
        foreach (var stack in Stacks) Root.Add(stack.Bytes, stack.Blocks);
    }

    public IReadOnlyList<WeightedStack> Stacks { get; }

    /// <summary>Every stack's bytes and blocks; the root of both trees.</summary>
    public CallTreeNode Root { get; }

    /// <summary>The report's stacks, and per category the bytes no listed stack accounts for (a gap shown, not hidden).</summary>
    public static List<WeightedStack> StacksOf(ReportDocument report)
    {
        var stacks = new List<WeightedStack>();
        foreach (var item in report.Items)
        {
            long bytes = 0, blocks = 0;
            foreach (var stack in item.Stacks)
            {
                stacks.Add(new WeightedStack(stack.Frames, stack.Size, stack.Count, item.Name));
                bytes += stack.Size;
                blocks += stack.Count;
            }
            if (item.Size > bytes) stacks.Add(new WeightedStack([], item.Size - bytes, Math.Max(0, item.Count - blocks), item.Name));
        }
        return stacks;
    }

    /// <summary>Outermost frame first; with <paramref name="categoryLeaves"/> each path ends in its category.</summary>
    public CallTreeNode TopDown(bool hideSystemFrames, bool categoryLeaves = false)
    {
        var root = new CallTreeNode("all", null, null);
        foreach (var stack in Stacks)
        {
            var frames = Frames(stack, hideSystemFrames);
            var node = Walk(root, stack, Enumerable.Reverse(frames));
            if (categoryLeaves) node.Child("▣ " + stack.Category, null, null, false).Add(stack.Bytes, stack.Blocks);
        }
        return root;
    }

    /// <summary>The allocating caller first, then who called it.</summary>
    public CallTreeNode Inverted(bool hideSystemFrames)
    {
        var root = new CallTreeNode("all", null, null);
        foreach (var stack in Stacks) Walk(root, stack, Frames(stack, hideSystemFrames));
        return root;
    }

    // Adds the stack to every node on its path from the root; a stack without frames goes under Unlisted.
    private CallTreeNode Walk(CallTreeNode root, WeightedStack stack, IEnumerable<ReportFrame> path)
    {
        root.Add(stack.Bytes, stack.Blocks);
        var node = root;
        var any = false;
        foreach (var frame in path)
        {
            node = Describe(node, frame);
            node.Add(stack.Bytes, stack.Blocks);
            any = true;
        }
        if (!any)
        {
            node = root.Child(Unlisted, null, null, false);
            node.Add(stack.Bytes, stack.Blocks);
        }
        return node;
    }

    /// <summary>
    /// The nodes a page shows: from the root, the largest first, each at least
    /// <paramref name="minBytes"/>, at most <paramref name="maxNodes"/> (a deep tree of
    /// thousands of stacks would make a page of megabytes; the flame graph has them all).
    /// </summary>
    public static HashSet<CallTreeNode> Visible(CallTreeNode root, long minBytes, int maxNodes)
    {
        var visible = new HashSet<CallTreeNode>(ReferenceEqualityComparer.Instance) { root };
        var next = new PriorityQueue<CallTreeNode, long>();
        foreach (var child in root.Children) next.Enqueue(child, -child.Bytes);
        while (visible.Count < maxNodes && next.TryDequeue(out var node, out _))
        {
            if (node.Bytes < minBytes) break;
            visible.Add(node);
            foreach (var child in node.Children) next.Enqueue(child, -child.Bytes);
        }
        return visible;
    }

    private CallTreeNode Describe(CallTreeNode parent, ReportFrame frame)
    {
        var moduleName = _moduleNames(frame.Uuid);
        // An unnamed frame reads as heaptrack and perf write it, module+0xoffset, not by its build-id.
        var display = string.IsNullOrEmpty(frame.Function) && moduleName is not null
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{moduleName}+0x{frame.Offset:x}")
            : CallerRules.Describe(frame, _moduleNames).Display;
        return parent.Child(display, frame.File, frame.Line, _rules.IsAllocatorFrame(frame.Function, moduleName));
    }

    // Without system frames a stack starts at its caller (the rules' choice), and runtime frames
    // further out are dropped too; a stack of nothing but such frames keeps its outermost one.
    private IReadOnlyList<ReportFrame> Frames(WeightedStack stack, bool hideSystemFrames)
    {
        if (!hideSystemFrames || stack.Frames.Count == 0) return stack.Frames;
        var kept = stack.Frames.Where(f => !_rules.IsAllocatorFrame(f.Function, _moduleNames(f.Uuid))).ToList();
        return kept.Count > 0 ? kept : [stack.Frames[^1]];
    }
}
