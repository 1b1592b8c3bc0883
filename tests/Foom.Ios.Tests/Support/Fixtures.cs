namespace Foom.Ios.Tests.Support;

public static class Fixtures
{
    public static string Jetsam(string relative) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Jetsam", relative);

    /// <summary>The one file in <paramref name="folder"/> whose name contains <paramref name="part"/>.</summary>
    public static string JetsamMatching(string folder, string part) =>
        Directory.GetFiles(Jetsam(folder)).Single(path => Path.GetFileName(path).Contains(part, StringComparison.Ordinal));
}
