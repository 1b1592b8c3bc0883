namespace Foom.Storage;

/// <summary>
/// A session file that cannot be read as written: missing, truncated, of another format version,
/// or with contents that contradict each other. The message names the file and what is wrong, so
/// that a user (or a report) can say which session is damaged instead of showing partial data.
/// </summary>
public sealed class SessionFormatException : Exception
{
    public SessionFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file that is damaged.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it, without the file name.</summary>
    public string Problem { get; }
}
