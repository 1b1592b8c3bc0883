namespace Foom.Symbols;

/// <summary>
/// A binary, debug file or perf map that cannot be read: missing, truncated, corrupt, or of a kind
/// Foom does not read. The message always starts with the file's path and says what is wrong, so it
/// can be shown to a user as it is.
/// </summary>
public sealed class SymbolFileException : Exception
{
    public SymbolFileException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}
