using Foom.Report.Model;

namespace Foom.Report.Views;

/// <summary>
/// The report as weighted call paths, outermost frame first, with the category as the last
/// (leaf) frame, e.g. "main;load;read_file;malloc;[Malloc 48 Bytes]". A category's bytes in
/// stacks the report does not list appear under one "[stacks not listed]" root, so that the
/// weights add up to the report's live bytes and a flame graph never shows a part as the whole.
/// A .NET census's types (counted apart from the native blocks) come under their own root,
/// "[managed heap]", whose weights add up to the census's bytes.
/// </summary>
public static class FoldedStacks
{
    public const string UnlistedRoot = "[stacks not listed]";
    public const string ManagedRoot = "[managed heap]";

    /// <param name="Frames">Outermost first, the category (in brackets) last.</param>
    /// <param name="Caller">The caller frame's label, or null for the unlisted remainder and stacks without one.</param>
    /// <param name="Sources">The report frame behind each of <paramref name="Frames"/> (null for the category and the unlisted root).</param>
    public readonly record struct CallPath(IReadOnlyList<string> Frames, string Category, string? Caller, long Bytes, long Count, IReadOnlyList<ReportFrame?> Sources);

    /// <summary>Every path, in report order (categories by size, then their stacks).</summary>
    public static IEnumerable<CallPath> Of(Model.Report report)
    {
        var labels = new FrameLabels(report);
        foreach (var item in report.Items)
        {
            var category = Leaf(item.Name);
            long listedBytes = 0, listedCount = 0;
            foreach (var stack in item.Stacks)
            {
                var frames = new List<string>(stack.Frames.Count + 2);
                var sources = new List<ReportFrame?>(stack.Frames.Count + 2);
                if (item.IsManaged)
                {
                    frames.Add(ManagedRoot);
                    sources.Add(null);
                }
                for (var i = stack.Frames.Count - 1; i >= 0; i--)
                {
                    frames.Add(labels.Label(stack.Frames[i]));
                    sources.Add(stack.Frames[i]);
                }
                frames.Add(category);
                sources.Add(null);
                listedBytes += stack.Size;
                listedCount += stack.Count;
                var caller = CallerIndex(stack);
                yield return new CallPath(frames, item.Name, caller >= 0 ? labels.Label(stack.Frames[caller]) : null, stack.Size, stack.Count, sources);
            }
            var restBytes = item.Size - listedBytes;
            var restCount = item.Count - listedCount;
            if (restBytes > 0 || restCount > 0)
                yield return item.IsManaged
                    ? new CallPath([ManagedRoot, UnlistedRoot, category], item.Name, null, Math.Max(0, restBytes), Math.Max(0, restCount), [null, null, null])
                    : new CallPath([UnlistedRoot, category], item.Name, null, Math.Max(0, restBytes), Math.Max(0, restCount), [null, null]);
        }
    }

    /// <summary>The index of the frame a stack's `caller` names, or -1.</summary>
    public static int CallerIndex(ReportStack stack)
    {
        if (stack.Caller.Length == 0) return -1;
        for (var i = 0; i < stack.Frames.Count; i++)
        {
            var frame = stack.Frames[i];
            if (stack.Caller.Length == frame.Uuid.Length + 1 + Digits(frame.Offset)
                && stack.Caller.StartsWith(frame.Uuid, StringComparison.OrdinalIgnoreCase)
                && stack.Caller[frame.Uuid.Length] == '@'
                && ulong.TryParse(stack.Caller.AsSpan(frame.Uuid.Length + 1), out var offset) && offset == frame.Offset)
                return i;
        }
        return -1;
    }

    private static int Digits(ulong value) => value < 10 ? 1 : (int)Math.Floor(Math.Log10(value)) + 1;

    public static string Leaf(string category) => "[" + category + "]";

    /// <summary>One frame name as collapsed-stack tools need it: no ';' (the separator) and no line breaks.</summary>
    public static string Clean(string name) =>
        name.Replace(';', ',').Replace('\n', ' ').Replace('\r', ' ');
}
