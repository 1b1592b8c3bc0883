namespace Foom.Cli.Commands;

/// <summary>Where uploads go: --server and --ingest-key, else FOOM_SERVER and FOOM_INGEST_KEY (`foom upload` and `foom run`).</summary>
internal static class ServerSettings
{
    /// <summary>
    /// The server and key given, or (null, null) when neither names a server; a server that is
    /// not an http(s) URL, or one without a key, is a problem naming the option.
    /// </summary>
    public static (Uri? Server, string? Key, string? Problem) Resolve(string? serverOption, string? keyOption)
    {
        var serverText = serverOption ?? Environment.GetEnvironmentVariable("FOOM_SERVER");
        var key = keyOption ?? Environment.GetEnvironmentVariable("FOOM_INGEST_KEY");
        if (string.IsNullOrEmpty(serverText)) return (null, null, null);
        if (!Uri.TryCreate(serverText.EndsWith('/') ? serverText : serverText + "/", UriKind.Absolute, out var server)
            || server.Scheme is not ("http" or "https"))
            return (null, null, $"--server: '{serverText}' is not a server URL: give it as http(s)://HOST:PORT (or FOOM_SERVER)");
        if (string.IsNullOrEmpty(key)) return (null, null, "--server needs the app's ingest key: give --ingest-key KEY or FOOM_INGEST_KEY");
        return (server, key, null);
    }
}
