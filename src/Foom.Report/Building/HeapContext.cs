using System.Security.Cryptography;
using System.Text;
using Foom.Report.Model;

namespace Foom.Report.Building;

/// <summary>A loaded module (executable or shared object) as the session recorded it.</summary>
public sealed record ModuleRecord(int Id, string Path, string? BuildId, ulong Base, ulong Size, bool IsMain)
{
    /// <summary>The lowest address it occupies (Size counts from here); 0 when unknown.</summary>
    public ulong Start { get; init; }

    /// <summary>
    /// The module's `uuid` in a report: its build-id, or for a module without one a stable id
    /// made from its path ("path-" and 32 hex digits), so that frames still join the modules table.
    /// </summary>
    public string Uuid => !string.IsNullOrEmpty(BuildId) ? BuildId.ToLowerInvariant() : PathUuid(Path);

    public static string PathUuid(string path) =>
        "path-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(path)), 0, 16);

    public ReportModule ToReport() => new()
    {
        Uuid = Uuid,
        Name = System.IO.Path.GetFileName(Path),
        Path = Path,
        Base = Base,
        Size = Size,
    };
}

/// <summary>
/// One frame as the stack table stores it: a module id and the pc's offset from the module's
/// load base. A pc outside every known module (JIT code) has a negative module id and its
/// absolute address as offset.
/// </summary>
public readonly record struct RawFrame(int ModuleId, ulong Offset);

/// <summary>What the assembler needs from a session besides the summed heap.</summary>
public sealed class HeapContext
{
    /// <summary>The name of a mapping kind or a type in the session's category table.</summary>
    public required Func<CategoryKey, string> CategoryName { get; init; }
    /// <summary>A stack's frames, innermost first, all of them (the assembler cuts them to the limit).</summary>
    public required Func<uint, IReadOnlyList<RawFrame>> Frames { get; init; }
    public required IReadOnlyList<ModuleRecord> Modules { get; init; }
}
