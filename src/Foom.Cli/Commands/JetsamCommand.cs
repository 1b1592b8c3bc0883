using System.CommandLine;

namespace Foom.Cli.Commands;

internal static class JetsamCommand
{
    public static Command Create()
    {
        var command = new Command("jetsam", "Read iOS JetsamEvent logs (not built yet)") { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(_ => NotBuiltYet.Say("jetsam", 4));
        return command;
    }
}
