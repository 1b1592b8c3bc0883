using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Text;
using Foom.Testing;

namespace Foom.Upload.Tests.Support;

/// <summary>A request as the server saw it, body un-gzip'ed when it came gzip'ed.</summary>
internal sealed record SeenRequest(string Method, string PathAndQuery, string? Authorization, string? ContentEncoding, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);
}

/// <summary>What the server answers.</summary>
internal sealed record Answer(int Status, string Body = "{}", TimeSpan? RetryAfter = null);

/// <summary>
/// A real HTTP listener on 127.0.0.1 and a free port, answering each request with a script, for
/// the upload client's retry, failure and sampling paths that a healthy server never takes.
/// </summary>
internal sealed class ScriptedHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<SeenRequest, Answer> _script;
    private readonly Task _loop;

    public ScriptedHttpServer(Func<SeenRequest, Answer> script)
    {
        _script = script;
        var port = LoopbackPort.Free();
        Url = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Url.ToString());
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public Uri Url { get; }
    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var bytes = body.ToArray();
            var encoding = context.Request.Headers["Content-Encoding"];
            if (encoding == "gzip")
            {
                using var gunzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var plain = new MemoryStream();
                await gunzip.CopyToAsync(plain);
                bytes = plain.ToArray();
            }
            var seen = new SeenRequest(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, context.Request.Headers["Authorization"], encoding, bytes);
            Requests.Enqueue(seen);
            var answer = _script(seen);
            context.Response.StatusCode = answer.Status;
            context.Response.ContentType = "application/json";
            if (answer.RetryAfter is TimeSpan wait) context.Response.Headers["Retry-After"] = ((int)wait.TotalSeconds).ToString();
            var reply = Encoding.UTF8.GetBytes(answer.Body);
            await context.Response.OutputStream.WriteAsync(reply);
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
