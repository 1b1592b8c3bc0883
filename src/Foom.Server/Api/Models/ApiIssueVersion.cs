namespace Foom.Server.Api.Models;

/// <summary>An issue's reports from one app version, with the first and last received (Unix milliseconds).</summary>
public sealed record ApiIssueVersion(string Version, long Reports, long FirstSeen, long LastSeen);
