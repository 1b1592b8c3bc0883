namespace Foom.Server.Api.Models;

/// <summary>An issue with its life: reports and devices per UTC day, and each version's first and last report.</summary>
public sealed record ApiIssueDetail(ApiIssue Issue, IReadOnlyList<ApiIssueDay> Days, IReadOnlyList<ApiIssueVersion> Versions);
