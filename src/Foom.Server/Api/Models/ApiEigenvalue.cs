namespace Foom.Server.Api.Models;

/// <summary>What a report is grouped by: its allocation point, the caller above it, its suspect category and why.</summary>
public sealed record ApiEigenvalue(string? Caller1, string? Caller2, string Category, string ReasonKind, string Reason, double Severity);
