namespace Foom.Server.Api.Models;

/// <summary>Reports and distinct devices of an issue on one UTC day (yyyy-MM-dd).</summary>
public sealed record ApiIssueDay(string Day, long Reports, long Devices);
