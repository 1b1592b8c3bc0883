using System.Threading.RateLimiting;
using Foom.Report.Callers;
using Foom.Server.Analysis;
using Foom.Server.Api;
using Foom.Server.Auth;
using Foom.Server.Data;
using Foom.Server.Ingest;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Foom.Server;

/// <summary>
/// `foom serve`: ingest, analysis, classification and pages on ASP.NET Core (Kestrel).
/// <see cref="StartAsync"/> is the one way in, for the command line, `foom demo` and the tests.
/// </summary>
public static class FoomServer
{
    public static async Task<FoomServerHandle> StartAsync(FoomServerOptions options, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.ServerDirectory);
        var database = Data.Database.FromSetting(options.Database, Path.Combine(options.ServerDirectory, "foom.db"));
        var applied = Migrations.Apply(database);
        var password = AdminPassword.Initialize(database, options.AdminPassword);

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            // The pages are compiled into this assembly; naming it the application lets MVC find them.
            ApplicationName = typeof(FoomServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.WebHost.UseUrls([.. options.Urls]);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Each endpoint enforces its own cap while reading; this is only the outer bound.
            kestrel.Limits.MaxRequestBodySize = options.SymbolLimits.MaxBodyBytes;
        });
        builder.Logging.ClearProviders();
        if (options.ConsoleLogging)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
            builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        }

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(database);
        services.AddSingleton(password);
        services.AddSingleton(sp => new GroupCommitWriter(database, sp.GetRequiredService<ILoggerFactory>().CreateLogger<GroupCommitWriter>()));
        services.AddSingleton(new IngestKeys(database, options.IngestKey));
        services.AddSingleton(new LoginThrottle(options.LoginLimits, TimeProvider.System));
        services.AddSingleton(new SessionStamp(database));
        services.AddSingleton(CallerRules.LoadOrDefault(Path.Combine(options.ServerDirectory, "caller-rules.json")));
        services.AddSingleton(sp => new ReportAnalyzer(sp.GetRequiredService<CallerRules>()));
        services.AddSingleton(new BaselineCache((app, version) => ReportStore.LoadBaseline(database, app, version)));
        var symbols = new Foom.Symbols.SymbolStore(Path.Combine(options.ServerDirectory, "symbols"));
        services.AddSingleton(symbols);
        services.AddSingleton(new Foom.Symbols.Symbolizer(new Foom.Symbols.SymbolizerOptions { Store = symbols }));
        services.AddSingleton<ReportSymbolication>();
        services.AddSingleton<ReportIngest>();
        services.AddSingleton<LaunchIngest>();
        services.AddSingleton<JetsamIngest>();
        services.AddSingleton<SymbolIngest>();
        services.AddSingleton<Reanalysis>();
        services.AddSingleton(new HintStore(Path.Combine(options.ServerDirectory, "hints.json")));
        services.AddSingleton<JetsamKills>();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower);
        services.AddProblemDetails();
        services.AddOpenApi(ApiDocument.Name, ApiDocument.Configure);

        services.AddDataProtection()
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.ServerDirectory, "cookie-keys")))
            .SetApplicationName("foom");
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(cookie =>
        {
            cookie.LoginPath = "/login";
            cookie.LogoutPath = "/logout";
            cookie.Cookie.Name = "foom_session";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = TimeSpan.FromDays(7);
            cookie.SlidingExpiration = true;
            cookie.Events.OnValidatePrincipal = context => context.HttpContext.RequestServices.GetRequiredService<SessionStamp>().ValidateAsync(context);
        });
        services.AddAuthorization();
        services.AddRazorPages(pages =>
        {
            pages.Conventions.AuthorizeFolder("/");
            pages.Conventions.AllowAnonymousToPage("/Login");
            pages.Conventions.AllowAnonymousToPage("/Error");
        });
        services.AddAntiforgery(a => a.Cookie.Name = "foom_antiforgery");
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, token) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "1";
                await context.HttpContext.Response.WriteAsJsonAsync(new { error = "too many uploads; retry after a second" }, token);
            };
            limiter.AddPolicy(IngestEndpoints.RatePolicy, context =>
            {
                // One bucket per known key; unknown keys share their client's bucket, so random
                // keys cannot make the limiter grow without bound.
                var grant = context.RequestServices.GetRequiredService<IngestKeys>().Check(context);
                var partition = grant is not null ? "key:" + grant.KeyId : "ip:" + context.Connection.RemoteIpAddress;
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.IngestBurst,
                    TokensPerPeriod = options.IngestRatePerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
        });

        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            // Last line of defence: whatever slipped through answers as problem details, and is logged.
            try
            {
                await next();
            }
            catch (UploadRejectedException e) when (!context.Response.HasStarted)
            {
                await IngestEndpoints.Error(e.StatusCode, e.Message).ExecuteAsync(context);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                await IngestEndpoints.Error(e.StatusCode, e.Message).ExecuteAsync(context);
            }
        });
        Pages.StaticAssets.Use(app);
        // A status without a body gets one: problem details under /api, the status page elsewhere.
        app.UseWhen(context => !context.Request.Path.StartsWithSegments("/api"), pages => pages.UseStatusCodePagesWithReExecute("/error", "?code={0}"));
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/api"), api => api.UseStatusCodePages());
        app.UseRouting();
        app.UseRateLimiter();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        IngestEndpoints.Map(app);
        ReadEndpoints.Map(app);
        ApiDocument.Map(app);
        app.MapRazorPages();

        await app.StartAsync(cancellationToken);
        var url = new Uri(app.Urls.First());
        if (applied.Count > 0) options.Print($"foom serve: {database.Description}: schema migrated to version {Migrations.Latest}");
        options.Print($"foom serve: listening on {url} ({database.Description})");
        if (password.Generated is not null)
            options.Print($"foom serve: pages login: user '{AdminPassword.UserName}', password '{password.Generated}' (shown only now; set FOOM_ADMIN_PASSWORD to choose one)");
        if (options.IngestKey is null)
            options.Print("foom serve: FOOM_INGEST_KEY is not set: only keys made on the Keys page can upload");
        if (options.AdminToken is null)
            options.Print("foom serve: FOOM_ADMIN_TOKEN is not set: the read API (/api/v1/apps/...) answers 401");
        return new FoomServerHandle(app, url, database, password.Generated);
    }
}

/// <summary>A running server: where it listens, and how to stop it.</summary>
public sealed class FoomServerHandle(WebApplication app, Uri url, Database database, string? generatedAdminPassword) : IAsyncDisposable
{
    public Uri Url { get; } = url;
    public Database Database { get; } = database;
    /// <summary>The pages' password when this start generated it, else null.</summary>
    public string? GeneratedAdminPassword { get; } = generatedAdminPassword;
    public IServiceProvider Services => app.Services;

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => app.WaitForShutdownAsync(cancellationToken);

    private int _disposed;

    /// <summary>Stops the server; a second call does nothing, as IAsyncDisposable promises.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await app.StopAsync();
        await app.Services.GetRequiredService<GroupCommitWriter>().DisposeAsync();
        await app.DisposeAsync();
    }
}
