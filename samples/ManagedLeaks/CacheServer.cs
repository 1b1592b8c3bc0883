using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ManagedLeaks;

/// <summary>
/// (e) An ASP.NET Core minimal API with an unbounded cache: <c>POST /items/{id}?kb=N</c> renders N
/// kilobytes for the item and caches it for good. Listens on 127.0.0.1 at a port the kernel picks
/// and prints "listening on URL". Kestrel turns an OutOfMemoryException in a request into a 500,
/// so the program goes on answering (and failing) rather than dying.
/// </summary>
public static class CacheServer
{
    private static readonly ConcurrentDictionary<string, byte[][]> Rendered = new();

    public static int Run(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/items/{id}", (string id, int? kb) =>
        {
            Render(id, kb ?? 64);
            return Results.Ok(Rendered.Count);
        });
        app.Start();
        Console.WriteLine($"ManagedLeaks: pid {Environment.ProcessId}, server, listening on {app.Urls.First()}");
        app.WaitForShutdown();
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Render(string id, int kilobytes)
    {
        // In 1 KB pieces: a cache of many small objects, as rendered fragments are.
        var pieces = new byte[kilobytes][];
        for (var i = 0; i < pieces.Length; i++) pieces[i] = new byte[1000];
        Rendered[id] = pieces;
    }
}
