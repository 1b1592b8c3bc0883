using Foom.Server.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Foom.Server.Api;

/// <summary>
/// The ingest key, checked once per request before any upload endpoint runs: 401 without a
/// valid key. The handler reads the grant with <see cref="Grant"/>. The key is hashed once per
/// request: the rate limiter's partition asked first, and <see cref="IngestKeys.Check(HttpContext)"/>
/// keeps the answer.
/// </summary>
public sealed class IngestKeyFilter(bool acceptAdminToken) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var grant = http.RequestServices.GetRequiredService<IngestKeys>().Check(http);
        if (grant is null && !(acceptAdminToken && Bearer.Matches(http.Request.Headers.Authorization, http.RequestServices.GetRequiredService<FoomServerOptions>().AdminToken)))
            return IngestEndpoints.Unauthorized();
        return await next(context);
    }

    /// <summary>The grant the filter let in; null only where the admin token was accepted instead.</summary>
    public static IngestGrant? Grant(HttpContext context) => context.RequestServices.GetRequiredService<IngestKeys>().Check(context);
}
