namespace Foom.Cli.Output;

/// <summary>Binary formats (pprof) go to standard output only when it is not a terminal, where they would garble the screen.</summary>
internal static class BinaryOutput
{
    public static bool CanWrite(string command)
    {
        if (Console.IsOutputRedirected) return true;
        Console.Error.WriteLine($"foom {command}: --format pprof writes a gzip'ed binary profile: redirect it to a file (foom {command} ... --format pprof > profile.pb.gz)");
        return false;
    }
}
