namespace Foom.Cli.Commands;

/// <summary>
/// The action of a command whose feature has not landed: it says so plainly and exits with 2,
/// so that nobody mistakes a stub for a result.
/// </summary>
internal static class NotBuiltYet
{
    public static int Say(string command, int issue)
    {
        Console.Error.WriteLine($"foom {command}: not built yet (tracked in issue {issue}).");
        return 2;
    }
}
