namespace Foom.Server.Data;

/// <summary>
/// App versions in release order: dotted parts compared as numbers where both are numbers
/// ("1.10" after "1.9"), else as text; a version with more parts after one it starts with
/// ("1.2.1" after "1.2"). "unknown" (a report without a version) comes before every other.
/// </summary>
public static class VersionOrder
{
    public static IComparer<string> Comparer { get; } = Comparer<string>.Create((a, b) => Compare(a, b));

    public static int Compare(string? a, string? b)
    {
        if (a == b) return 0;
        if (a is null || a == "unknown") return -1;
        if (b is null || b == "unknown") return 1;
        var left = a.Split('.', '-', '+', '_');
        var right = b.Split('.', '-', '+', '_');
        for (var i = 0; i < Math.Min(left.Length, right.Length); i++)
        {
            var order = long.TryParse(left[i], out var x) && long.TryParse(right[i], out var y)
                ? x.CompareTo(y)
                : string.CompareOrdinal(left[i], right[i]);
            if (order != 0) return order;
        }
        return left.Length.CompareTo(right.Length);
    }
}
