using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Scalar.AspNetCore;

namespace Foom.Server.Api;

/// <summary>
/// The API's contract: the OpenAPI document generated from the endpoints (Microsoft.AspNetCore.OpenApi)
/// at /openapi/v1.json, and its reference page (Scalar, served from its package) at /api-reference.
/// Both are open without a login: they describe the API, not its data.
/// </summary>
public static class ApiDocument
{
    public const string Name = "v1";
    public const string Path = "/openapi/v1.json";
    public const string ReferencePath = "/api-reference";

    public static void Configure(OpenApiOptions options) =>
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Foom server API";
            document.Info.Version = "v1";
            document.Info.Description =
                "Uploads (reports, launch records, JetsamEvent logs, symbols) take an ingest key: Authorization: Bearer KEY. "
                + "The read API takes Authorization: Bearer $FOOM_ADMIN_TOKEN, or the pages' login for GET requests. "
                + "Errors are RFC 7807 problem details. Lists take ?limit (1 to 1000, 100 by default) and ?cursor; "
                + "the next page's URL is in the Link header (rel=\"next\"), absent on the last page.";
            return Task.CompletedTask;
        });

    public static void Map(WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference(ReferencePath, scalar => scalar.WithTitle("Foom server API").WithOpenApiRoutePattern("/openapi/{documentName}.json"));
    }
}
