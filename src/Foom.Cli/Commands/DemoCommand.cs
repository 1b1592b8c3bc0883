using System.CommandLine;

namespace Foom.Cli.Commands;

internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Start a server, get a sample killed under a limit, and show its report (not built yet)") { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(_ => NotBuiltYet.Say("demo", 6));
        return command;
    }
}
