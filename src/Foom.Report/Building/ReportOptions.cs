using Foom.Report.Model;

namespace Foom.Report.Building;

/// <summary>The index of a stack's caller frame (innermost first), given a module-name lookup by uuid.</summary>
public delegate int CallerFinder(IReadOnlyList<ReportFrame> frames, Func<string, string?> moduleNameOfUuid);

/// <summary>
/// Gives names to frames: called once per report with every distinct frame the report lists,
/// each with the raw module id and offset it came from and whether it is a return address (it
/// sits above the innermost frame of some stack); fills Function, File and Line where it can.
/// Returns, by module id, why that module's frames that stayed unnamed have no name (null when it
/// cannot say).
/// </summary>
public delegate IReadOnlyDictionary<int, string>? FrameSymbolizer(IReadOnlyList<ModuleRecord> modules, IReadOnlyList<FrameToName> frames);

/// <summary>One distinct frame of a report, to be named in place.</summary>
public readonly record struct FrameToName(RawFrame Raw, ReportFrame Frame, bool IsReturnAddress);

public sealed record ReportOptions
{
    public static ReportOptions Default { get; } = new();

    public SelectionRules Selection { get; init; } = SelectionRules.Default;

    /// <summary>The whole report, compact JSON gzip'ed, is at most this many bytes (WeChat's monitor's "about 300 K"); long.MaxValue for no budget.</summary>
    public long BudgetGzipBytes { get; init; } = 300_000;

    /// <summary>Fold single-stack heap-block categories that list no stacks into a bigger one holding the stack (docs/report-format.md, "Folding").</summary>
    public bool FoldSingleStackCategories { get; init; } = true;

    /// <summary>Finds each stack's caller; <see cref="Callers.CallerRules.Default"/> (allocator and runtime frames skipped) when null.</summary>
    public CallerFinder? FindCaller { get; init; }

    /// <summary>A .NET census's types listed by name: the biggest this many by bytes and this many by count; the rest are one item (docs/report-format.md, "Managed heap").</summary>
    public int ManagedTypesBySize { get; init; } = 300;
    public int ManagedTypesByCount { get; init; } = 100;

    /// <summary>Names frames; none by default (frames stay uuid@offset for the server to symbolicate).</summary>
    public FrameSymbolizer? Symbolize { get; init; }
}
