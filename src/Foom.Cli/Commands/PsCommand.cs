using System.CommandLine;

namespace Foom.Cli.Commands;

internal static class PsCommand
{
    public static Command Create()
    {
        var command = new Command("ps", "List processes in the order the kernel would kill them (not built yet)") { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(_ => NotBuiltYet.Say("ps", 4));
        return command;
    }
}
