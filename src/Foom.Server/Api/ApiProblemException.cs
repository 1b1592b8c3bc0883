namespace Foom.Server.Api;

/// <summary>A read API error: answered as RFC 7807 problem details with this status and detail.</summary>
public sealed class ApiProblemException(int status, string detail) : Exception(detail)
{
    public int Status { get; } = status;
}
