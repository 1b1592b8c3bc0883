using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Foom.Report.IO;
using Foom.Storage.Sessions;

namespace Foom.Upload;

public sealed record UploaderOptions
{
    public required Uri Server { get; init; }
    public required string IngestKey { get; init; }
    /// <summary>The first wait after a failure that may pass (429, 5xx, no connection); doubled each time, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Tries per entry in one flush before the flush gives up and leaves the queue for next time.</summary>
    public int MaxAttempts { get; init; } = 6;
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>What one flush did.</summary>
public sealed record FlushResult
{
    public int Sent { get; init; }
    /// <summary>Entries the server already had (sent before, answered 200): removed, as harmless.</summary>
    public int Duplicates { get; init; }
    /// <summary>Reports the sampling policy said not to send: removed from the queue (the report stays in the data directory).</summary>
    public int NotSampled { get; init; }
    /// <summary>Entries the server refused for good, moved to failed/, with the reason.</summary>
    public IReadOnlyList<string> Failed { get; init; } = [];
    /// <summary>Entries left for a later flush.</summary>
    public int Remaining { get; init; }
    /// <summary>Why the flush stopped early, when it did (server unreachable, key refused, deadline, another flush running).</summary>
    public string? StoppedBecause { get; init; }
}

/// <summary>
/// Sends the upload queue to a Foom server: gzip'ed JSON with `Authorization: Bearer &lt;ingest
/// key&gt;`; retries with exponential backoff and jitter on 429, 5xx and network failures
/// (honouring Retry-After); never retries other 4xx (the entry moves to failed/, or for 401/403
/// the flush stops and keeps everything, since the key is wrong for all of them); asks the
/// server's sampling policy before sending an automatic report. One flush at a time per queue
/// (a lock file); a flush never outlives its deadline.
/// </summary>
public sealed class Uploader : IDisposable
{
    private readonly UploadQueue _queue;
    private readonly UploaderOptions _options;
    private readonly HttpClient _http;

    public Uploader(UploadQueue queue, UploaderOptions options, HttpMessageHandler? handler = null)
    {
        _queue = queue;
        _options = options;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) }, disposeHandler: true)
        {
            BaseAddress = options.Server,
            Timeout = options.RequestTimeout,
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.IngestKey);
    }

    public UploadQueue Queue => _queue;

    /// <summary>
    /// Queues a report durably. <paramref name="sampled"/>: let the server's sampling policy decide
    /// (automatic uploads); false sends it whatever the policy (an explicit `foom upload`).
    /// A Matrix report (no platform "linux") needs <paramref name="matrixAppId"/>.
    /// </summary>
    public Enqueued EnqueueReport(Report.Model.Report report, bool sampled, string? matrixAppId = null)
    {
        var head = report.Head;
        var isFoom = head.Platform == "linux";
        var appId = isFoom ? head.AppId : matrixAppId ?? head.AppId;
        if (string.IsNullOrEmpty(appId)) throw new ArgumentException("the report names no app: give --app");
        var id = head.ReportId ?? ContentId(report);
        return _queue.Enqueue(new UploadEntryInfo
        {
            Kind = isFoom ? UploadKind.Report : UploadKind.MatrixReport,
            Id = id,
            AppId = appId,
            AppVersion = head.AppVersion,
            DeviceId = head.DeviceId,
            UserId = head.UserId,
            Sampled = sampled,
            QueuedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        }, ReportJson.ToUtf8(report));
    }

    /// <summary>Queues a launch record durably; launch records are never sampled (they count the launches).</summary>
    public Enqueued EnqueueLaunch(LaunchRecord record) =>
        _queue.Enqueue(new UploadEntryInfo
        {
            Kind = UploadKind.Launch,
            // The queue names its entries by id and app: a record without them could not be queued.
            Id = string.IsNullOrEmpty(record.LaunchId) ? throw new ArgumentException("a launch record to upload needs its launch_id", nameof(record)) : record.LaunchId,
            AppId = string.IsNullOrEmpty(record.AppId) ? throw new ArgumentException("a launch record to upload needs its app_id", nameof(record)) : record.AppId,
            AppVersion = record.AppVersion,
            DeviceId = record.DeviceId,
            UserId = record.UserId,
            QueuedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        }, JsonSerializer.SerializeToUtf8Bytes(record, UploadJson.Default.LaunchRecord));

    /// <summary>Sends what the queue holds, oldest first, until it is empty, the server refuses the key, it stays unreachable, or the deadline passes.</summary>
    public async Task<FlushResult> FlushAsync(TimeSpan deadline, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_queue.Directory);
        FileStream flushLock;
        try
        {
            flushLock = new FileStream(Path.Combine(_queue.Directory, ".flush.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return new FlushResult { Remaining = _queue.Entries().Count, StoppedBecause = "another flush of this queue is running" };
        }
        using (flushLock)
            return await FlushLockedAsync(Stopwatch.StartNew(), deadline, cancellationToken);
    }

    private async Task<FlushResult> FlushLockedAsync(Stopwatch clock, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var entries = _queue.Entries();
        int sent = 0, duplicates = 0, notSampled = 0, done = 0;
        var failed = new List<string>();
        var policies = new Dictionary<string, bool>(StringComparer.Ordinal);
        var backoff = _options.InitialBackoff;
        string? stopped = null;

        foreach (var entry in entries)
        {
            var attempts = 0;
            while (true)
            {
                if (clock.Elapsed >= deadline) { stopped = "the deadline passed"; break; }
                attempts++;
                var outcome = await TryOnceAsync(entry, policies, deadline - clock.Elapsed, cancellationToken);
                if (outcome.Kind == OutcomeKind.Retry)
                {
                    if (attempts >= _options.MaxAttempts) { stopped = $"the server stayed unavailable ({outcome.Message})"; break; }
                    var wait = outcome.RetryAfter ?? Jitter(backoff);
                    if (wait > _options.MaxBackoff) wait = _options.MaxBackoff;
                    var left = deadline - clock.Elapsed;
                    if (wait >= left) { stopped = $"the deadline passed while the server was unavailable ({outcome.Message})"; break; }
                    await Task.Delay(wait, cancellationToken);
                    backoff = backoff * 2 > _options.MaxBackoff ? _options.MaxBackoff : backoff * 2;
                    continue;
                }
                backoff = _options.InitialBackoff;
                switch (outcome.Kind)
                {
                    case OutcomeKind.Sent: _queue.Remove(entry); sent++; break;
                    case OutcomeKind.Duplicate: _queue.Remove(entry); duplicates++; break;
                    case OutcomeKind.NotSampled: _queue.Remove(entry); notSampled++; break;
                    case OutcomeKind.Refused:
                        _queue.Fail(entry, outcome.Message);
                        failed.Add($"{entry.Info.Kind.ToString().ToLowerInvariant()} {entry.Info.Id}: {outcome.Message}");
                        break;
                    case OutcomeKind.KeyRefused: stopped = outcome.Message; break;
                }
                break;
            }
            if (stopped is not null) break;
            done++;
        }
        return new FlushResult
        {
            Sent = sent, Duplicates = duplicates, NotSampled = notSampled, Failed = failed,
            Remaining = entries.Count - done, StoppedBecause = stopped,
        };
    }

    private enum OutcomeKind { Sent, Duplicate, NotSampled, Refused, KeyRefused, Retry }

    private readonly record struct Outcome(OutcomeKind Kind, string Message = "", TimeSpan? RetryAfter = null);

    private async Task<Outcome> TryOnceAsync(UploadEntry entry, Dictionary<string, bool> policies, TimeSpan left, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(left < _options.RequestTimeout ? left : _options.RequestTimeout);
        try
        {
            var info = entry.Info;
            if (info.Sampled && info.Kind != UploadKind.Launch)
            {
                var key = $"{info.AppId}\n{info.DeviceId}\n{info.UserId}\n{info.AppVersion}";
                if (!policies.TryGetValue(key, out var upload))
                {
                    var (decision, failure) = await AskPolicyAsync(info, timeout.Token);
                    if (decision is not bool known) return failure;
                    policies[key] = upload = known;
                }
                if (!upload) return new Outcome(OutcomeKind.NotSampled);
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, PathOf(info));
            var content = new ByteArrayContent(entry.GzipBody);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            content.Headers.ContentEncoding.Add("gzip");
            request.Content = content;
            using var response = await _http.SendAsync(request, timeout.Token);
            var status = (int)response.StatusCode;
            if (status == 200) return new Outcome(OutcomeKind.Duplicate);
            if (status is >= 200 and < 300) return new Outcome(OutcomeKind.Sent);
            return await FailureAsync(response, timeout.Token);
        }
        catch (HttpRequestException e)
        {
            return new Outcome(OutcomeKind.Retry, $"cannot reach {_options.Server}: {e.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Outcome(OutcomeKind.Retry, $"{_options.Server} did not answer in time");
        }
    }

    /// <summary>The policy's decision for this entry, or (when it has none) the failure to act on.</summary>
    private async Task<(bool? Upload, Outcome Failure)> AskPolicyAsync(UploadEntryInfo info, CancellationToken cancellationToken)
    {
        var query = $"api/v1/policy?app={Uri.EscapeDataString(info.AppId)}&device={Uri.EscapeDataString(info.DeviceId ?? "")}" +
                    $"&user={Uri.EscapeDataString(info.UserId ?? "")}&version={Uri.EscapeDataString(info.AppVersion ?? "")}";
        using var response = await _http.GetAsync(query, cancellationToken);
        var status = (int)response.StatusCode;
        if (status is 404 or 405) return (true, default);   // a server without sampling: send
        if (status is < 200 or >= 300) return (null, await FailureAsync(response, cancellationToken));
        try
        {
            using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
            var upload = !document.RootElement.TryGetProperty("upload", out var value) || value.ValueKind != JsonValueKind.False;
            return (upload, default);
        }
        catch (JsonException)
        {
            return (null, new Outcome(OutcomeKind.Retry, "the sampling policy answer was not JSON"));
        }
    }

    private static async Task<Outcome> FailureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var message = $"{status} {response.ReasonPhrase}: {await ErrorText(response, cancellationToken)}";
        if (status is 408 or 429 or >= 500) return new Outcome(OutcomeKind.Retry, message, RetryAfter(response));
        if (status is 401 or 403) return new Outcome(OutcomeKind.KeyRefused, $"the server refused the ingest key ({message})");
        return new Outcome(OutcomeKind.Refused, message);
    }

    private static async Task<string> ErrorText(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (body.Length > 0 && body[0] == '{')
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
                    return error.GetString()!;
            }
            return body.Length > 300 ? body[..300] : body;
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            return "(no readable answer)";
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is TimeSpan delta) return delta;
        if (header?.Date is DateTimeOffset date) return date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        return null;
    }

    private static string PathOf(UploadEntryInfo info) => info.Kind switch
    {
        UploadKind.Report => "api/v1/reports",
        UploadKind.Launch => "api/v1/launches",
        _ => $"api/v1/matrix/memstat?app={Uri.EscapeDataString(info.AppId)}" +
             (info.AppVersion is { } v ? "&version=" + Uri.EscapeDataString(v) : "") +
             (info.DeviceId is { } d ? "&device=" + Uri.EscapeDataString(d) : "") +
             (info.UserId is { } u ? "&user=" + Uri.EscapeDataString(u) : ""),
    };

    private static TimeSpan Jitter(TimeSpan backoff) => backoff * (0.5 + Random.Shared.NextDouble() / 2);

    /// <summary>A Matrix report carries no id: one is made from its content, so the same report is the same upload.</summary>
    private static string ContentId(Report.Model.Report report) =>
        "matrix-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(ReportJson.ToUtf8(report)), 0, 16);

    public void Dispose() => _http.Dispose();
}
