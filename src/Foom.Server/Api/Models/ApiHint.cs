namespace Foom.Server.Api.Models;

/// <summary>A known cause whose rules match an issue's eigenvalue (the Hints page edits them).</summary>
public sealed record ApiHint(string Id, string Title, string Advice);
