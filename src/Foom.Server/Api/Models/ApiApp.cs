namespace Foom.Server.Api.Models;

/// <summary>An app the server has reports or launch records of.</summary>
public sealed record ApiApp(string App, long Reports, long Launches, long? LastReport);
