using System.CommandLine;

namespace Foom.Cli.Commands;

internal static class SessionsCommand
{
    public static Command Create()
    {
        var command = new Command("sessions", "List past sessions with their exit reason and evidence (not built yet)") { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(_ => NotBuiltYet.Say("sessions", 4));
        return command;
    }
}
