namespace Foom.Report.Callers;

/// <summary>A frame in a call tree with the bytes and blocks of every stack through it.</summary>
public sealed class CallTreeNode(string name, string? file, int? line, bool system = false)
{
    private Dictionary<string, CallTreeNode>? _children;

    public string Name { get; } = name;
    /// <summary>The source file and line of the frame where the report names them (the first stack's, when calls differ).</summary>
    public string? File { get; } = file;
    public int? Line { get; } = line;
    /// <summary>An allocator or runtime frame by the caller rules.</summary>
    public bool System { get; } = system;
    public long Bytes { get; private set; }
    public long Blocks { get; private set; }

    public IEnumerable<CallTreeNode> Children =>
        _children is null ? [] : _children.Values.OrderByDescending(c => c.Bytes).ThenBy(c => c.Name, StringComparer.Ordinal);

    public bool HasChildren => _children is { Count: > 0 };

    public void Add(long bytes, long blocks)
    {
        Bytes += bytes;
        Blocks += blocks;
    }

    public CallTreeNode Child(string childName, string? childFile, int? childLine, bool childSystem)
    {
        _children ??= new Dictionary<string, CallTreeNode>(StringComparer.Ordinal);
        if (!_children.TryGetValue(childName, out var child)) _children[childName] = child = new CallTreeNode(childName, childFile, childLine, childSystem);
        return child;
    }
}
