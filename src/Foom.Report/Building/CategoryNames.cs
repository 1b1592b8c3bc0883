using System.Globalization;

namespace Foom.Report.Building;

/// <summary>
/// Category names as Matrix's report generator writes them, so that a server that knows Matrix
/// reports groups Foom's the same way: a heap block's size rounded up to 16 bytes names its category; "Malloc 48 Bytes" below
/// 1 KiB, "Malloc 1.50 KiB" below 1 MiB, "Malloc 2.00 MiB" from there on; "VM: kind" for
/// mappings; a runtime's type name as it is.
/// </summary>
public static class CategoryNames
{
    public const long KiB = 1024;
    public const long MiB = 1024 * 1024;

    /// <summary>A heap block's size as its category name gives it: rounded up to 16 bytes, as Matrix names them.</summary>
    public static long RoundUp16(long size) =>
        size <= 0 ? 0 : checked(size + 15) & ~15L;

    /// <summary>The name of the category of a heap block of <paramref name="size"/> bytes (rounded first).</summary>
    public static string Malloc(long size)
    {
        var rounded = RoundUp16(size);
        if (rounded < KiB) return string.Create(CultureInfo.InvariantCulture, $"Malloc {rounded} Bytes");
        if (rounded < MiB) return string.Create(CultureInfo.InvariantCulture, $"Malloc {rounded / (double)KiB:0.00} KiB");
        return string.Create(CultureInfo.InvariantCulture, $"Malloc {rounded / (double)MiB:0.00} MiB");
    }

    /// <summary>"VM: anonymous", "VM: file /usr/lib/x.so", ...: the mapping kind as the recorder names it (with or without the prefix).</summary>
    public static string Mapping(string kind) =>
        string.IsNullOrWhiteSpace(kind) ? "VM: unknown" : IsMapping(kind) ? kind : "VM: " + kind;

    public static bool IsMalloc(string name) => name.StartsWith("Malloc ", StringComparison.Ordinal);

    public static bool IsMapping(string name) => name.StartsWith("VM: ", StringComparison.Ordinal);
}
