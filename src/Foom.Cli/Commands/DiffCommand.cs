using System.CommandLine;

namespace Foom.Cli.Commands;

internal static class DiffCommand
{
    public static Command Create()
    {
        var command = new Command("diff", "Compare two reports or sessions (not built yet)") { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(_ => NotBuiltYet.Say("diff", 5));
        return command;
    }
}
