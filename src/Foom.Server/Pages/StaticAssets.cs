using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.FileProviders;

namespace Foom.Server.Pages;

/// <summary>
/// The pages' scripts and styles under /static/: Foom's own (Static/*.js, *.css) and the npm
/// libraries vendored by Static/vendor.sh (d3, d3-flame-graph, uPlot), all embedded in this
/// assembly so that `foom serve` needs no files beside it. They are the same for every user, so
/// they are served before the login; the ETag lets a browser keep them.
/// </summary>
public static class StaticAssets
{
    public const string RequestPath = "/static";

    public static void Use(WebApplication app) =>
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new EmbeddedFileProvider(typeof(StaticAssets).Assembly, "Foom.Server.Static"),
            RequestPath = RequestPath,
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
}
