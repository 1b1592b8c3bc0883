using Foom.Report.Model;

namespace Foom.Report.Callers;

/// <summary>One stack with what it holds: frames innermost first, as reports list them.</summary>
public sealed record WeightedStack(IReadOnlyList<ReportFrame> Frames, long Bytes, long Blocks, string Category);
