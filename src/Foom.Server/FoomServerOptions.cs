using Foom.Server.Ingest;
using Foom.Storage.Sessions;

namespace Foom.Server;

/// <summary>
/// Everything `foom serve` (and `foom demo`, and the tests) can set. <see cref="FromEnvironment"/>
/// reads the FOOM_* variables; code may set the same fields directly.
/// </summary>
public sealed class FoomServerOptions
{
    /// <summary>Kestrel URLs; a port of 0 picks a free one (see <see cref="FoomServerHandle.Url"/>).</summary>
    public IReadOnlyList<string> Urls { get; set; } = ["http://127.0.0.1:8080"];

    /// <summary>--db: null for the SQLite file in the data directory.</summary>
    public string? Database { get; set; }

    public required DataDirectory Data { get; set; }

    /// <summary>FOOM_INGEST_KEY: accepted for every app.</summary>
    public string? IngestKey { get; set; }

    /// <summary>FOOM_ADMIN_TOKEN: the read API's bearer token. Without it the read API answers 401.</summary>
    public string? AdminToken { get; set; }

    /// <summary>FOOM_ADMIN_PASSWORD: the pages' login. Without it one is generated at first start and printed once.</summary>
    public string? AdminPassword { get; set; }

    /// <summary>
    /// FOOM_SOURCE_URL: where a frame's source line opens, with {file} (the path without its
    /// leading '/') and {line}; e.g. https://git.example/org/app/blob/main/{file}#L{line}. The
    /// default opens the file in the developer's editor (VS Code's URL scheme).
    /// </summary>
    public string SourceUrl { get; set; } = "vscode://file/{file}:{line}";

    /// <summary>Uploads per second per ingest key (FOOM_INGEST_RATE), and the burst allowed above it.</summary>
    public int IngestRatePerSecond { get; set; } = 1000;
    public int IngestBurst { get; set; } = 2000;

    /// <summary>Failed logins allowed per client address and per user name within a window (then 429).</summary>
    public Auth.LoginLimits LoginLimits { get; set; } = Auth.LoginLimits.Default;

    public UploadLimits ReportLimits { get; set; } = new(MaxBodyBytes: 16 << 20, MaxDecompressedBytes: 64 << 20, MaxRatio: 200);
    public UploadLimits SmallLimits { get; set; } = new(MaxBodyBytes: 1 << 20, MaxDecompressedBytes: 4 << 20, MaxRatio: 200);
    public UploadLimits SymbolLimits { get; set; } = new(MaxBodyBytes: 512L << 20, MaxDecompressedBytes: 1L << 30, MaxRatio: 50);

    /// <summary>Where start-up messages go (the generated password, the URL).</summary>
    public Action<string> Print { get; set; } = Console.WriteLine;

    /// <summary>Log to the console (off for tests and benchmarks, which read the server's answers).</summary>
    public bool ConsoleLogging { get; set; } = true;

    /// <summary>The server's own folder inside the data directory: the SQLite file, cookie keys, hints.</summary>
    public string ServerDirectory => Path.Combine(Data.Root, "server");

    public static FoomServerOptions FromEnvironment(DataDirectory data)
    {
        var options = new FoomServerOptions
        {
            Data = data,
            IngestKey = Blank(Environment.GetEnvironmentVariable("FOOM_INGEST_KEY")),
            AdminToken = Blank(Environment.GetEnvironmentVariable("FOOM_ADMIN_TOKEN")),
            AdminPassword = Blank(Environment.GetEnvironmentVariable("FOOM_ADMIN_PASSWORD")),
        };
        if (Blank(Environment.GetEnvironmentVariable("FOOM_SOURCE_URL")) is { } sourceUrl) options.SourceUrl = sourceUrl;
        if (int.TryParse(Environment.GetEnvironmentVariable("FOOM_INGEST_RATE"), out var rate) && rate > 0)
        {
            options.IngestRatePerSecond = rate;
            options.IngestBurst = Math.Max(rate, rate * 2);
        }
        return options;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
