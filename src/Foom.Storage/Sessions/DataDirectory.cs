namespace Foom.Storage.Sessions;

/// <summary>
/// Where Foom keeps its sessions and reports: FOOM_DATA, else $XDG_DATA_HOME/foom, else
/// ~/.local/share/foom (the contract in docs/design.md). Sessions of an app live in
/// &lt;data&gt;/&lt;app&gt;/sessions/&lt;session-id&gt;/.
/// </summary>
public sealed class DataDirectory
{
    public DataDirectory(string root) => Root = Path.GetFullPath(root);

    public string Root { get; }

    /// <summary>The data directory named by --data when given, else by the environment.</summary>
    public static DataDirectory Resolve(string? explicitPath = null)
    {
        if (!string.IsNullOrEmpty(explicitPath)) return new DataDirectory(explicitPath);
        var fromEnv = Environment.GetEnvironmentVariable("FOOM_DATA");
        if (!string.IsNullOrEmpty(fromEnv)) return new DataDirectory(fromEnv);
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        if (!string.IsNullOrEmpty(xdg)) return new DataDirectory(Path.Combine(xdg, "foom"));
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new DataDirectory(Path.Combine(home, ".local", "share", "foom"));
    }

    public string AppDirectory(string appId) => Path.Combine(Root, ValidateAppId(appId));

    public string SessionsDirectory(string appId) => Path.Combine(AppDirectory(appId), "sessions");

    /// <summary>The apps that have a sessions folder here.</summary>
    public IEnumerable<string> Apps() =>
        Directory.Exists(Root)
            ? Directory.EnumerateDirectories(Root)
                .Where(d => Directory.Exists(Path.Combine(d, "sessions")))
                .Select(Path.GetFileName)
                .OfType<string>()
                .Order(StringComparer.Ordinal)
            : [];

    /// <summary>
    /// App ids become folder names, so they are kept to a safe alphabet: a hostile or mistyped
    /// id must never climb out of the data directory.
    /// </summary>
    public static string ValidateAppId(string appId)
    {
        if (string.IsNullOrEmpty(appId) || appId.Length > 128 || appId is "." or ".."
            || appId.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
            throw new ArgumentException(
                $"app id '{appId}' is not valid: use 1 to 128 characters from letters, digits, '.', '_' and '-'.",
                nameof(appId));
        return appId;
    }
}
