namespace Foom.Server.Api.Models;

/// <summary>
/// A second-level group of reports (one eigenvalue). State is open, resolved or regressed (a
/// report from a version newer than <see cref="ResolvedVersion"/> came after it was resolved).
/// Times are Unix milliseconds, when the server received the first and last report.
/// </summary>
public sealed record ApiIssue(string Issue, string Level1, string? Caller1, string? Caller2, string Category, string ReasonKind, string Reason,
    string State, string? ResolvedVersion, long? ResolvedAt, long Reports, long Devices, long Users, IReadOnlyList<string> Versions, long Bytes,
    long FirstSeen, long LastSeen, IReadOnlyList<ApiHint> Hints);
