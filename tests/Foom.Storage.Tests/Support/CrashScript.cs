using Foom.Storage.Stacks;

namespace Foom.Storage.Tests.Support;

/// <summary>
/// What the crash helper derives from each <see cref="LiveOp"/> besides the operation itself, so
/// that the test can check a recovered record's stack and category by content, not by id.
/// </summary>
internal static class CrashScript
{
    public const ulong ExeBase = 0x5555_5555_0000;
    public const ulong LibBase = 0x7f12_3400_0000;

    /// <summary>Stack number <paramref name="n"/>: a few leaf frames in the library over a shared trunk in the executable.</summary>
    public static ulong[] Pcs(int n)
    {
        var depth = 2 + n % 5;
        var pcs = new ulong[depth + 4];
        for (var i = 0; i < depth; i++) pcs[i] = LibBase + 0x1000 + (ulong)((n >> (i * 2)) & 0xFF) * 16 + (ulong)i;
        for (var i = 0; i < 4; i++) pcs[depth + i] = ExeBase + 0x400 + (ulong)i * 0x40;
        return pcs;
    }

    public static string Category(int n) => n == 0 ? "" : "Category " + n;

    /// <summary>A stack as text: module path and offset of each frame, innermost first.</summary>
    public static string Describe(IEnumerable<Frame> frames, Func<int, string> modulePath) =>
        string.Join(" ", frames.Select(f => $"{modulePath(f.ModuleId)}+{f.Offset:x}"));

    public static string DescribeExpected(int n) =>
        string.Join(" ", Pcs(n).Select(pc => pc >= LibBase ? $"/lib/libcrash.so+{pc - LibBase:x}" : $"/usr/bin/crash+{pc - ExeBase:x}"));
}
