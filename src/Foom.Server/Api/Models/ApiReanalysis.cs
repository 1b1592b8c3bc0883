namespace Foom.Server.Api.Models;

/// <summary>What a re-analysis of an app's reports did.</summary>
public sealed record ApiReanalysis(string App, int Reports, int IssuesChanged);
