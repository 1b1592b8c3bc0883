namespace Foom.Server.Data;

/// <summary>
/// Which reports an issue list counts: exact app version, reason kind and device model; a
/// category or caller (Caller1 or Caller2) containing the text given, case-insensitively; and
/// the issues' state (open, resolved, regressed) after grouping. Null fields filter nothing.
/// </summary>
public sealed record IssueFilter(string? Version = null, string? ReasonKind = null, string? Category = null, string? Caller = null,
    string? Device = null, string? State = null)
{
    public static IssueFilter None { get; } = new();

    public static readonly IReadOnlyList<string> States = [IssueStates.Open, IssueStates.Resolved, IssueStates.Regressed];

    public bool IsEmpty => this == None;
}
