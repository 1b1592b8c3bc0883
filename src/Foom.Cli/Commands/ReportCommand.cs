using System.CommandLine;

namespace Foom.Cli.Commands;

internal static class ReportCommand
{
    public static Command Create()
    {
        var command = new Command("report", "Show what held the memory in a session or report (not built yet)") { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(_ => NotBuiltYet.Say("report", 3));
        return command;
    }
}
