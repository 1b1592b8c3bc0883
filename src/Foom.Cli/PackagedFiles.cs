namespace Foom.Cli;

/// <summary>Programs that travel inside the tool package (foom-native, the demo's sample).</summary>
internal static class PackagedFiles
{
    private const UnixFileMode Execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>
    /// Gives a packed program back the execute bits that a package's extraction may drop (NuGet
    /// packages are zip files, which do not keep file modes); false when it is not executable and
    /// cannot be made so (another user's installation).
    /// </summary>
    public static bool EnsureExecutable(string path)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & UnixFileMode.UserExecute) != 0) return true;
        try
        {
            File.SetUnixFileMode(path, mode | Execute);
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            Console.Error.WriteLine($"foom: {path} is not executable and cannot be made so ({e.Message}): chmod +x it");
            return false;
        }
    }
}
