using System.CommandLine;

namespace Foom.Cli.Commands;

internal static class UploadCommand
{
    public static Command Create()
    {
        var command = new Command("upload", "Upload a report or session to a Foom server (not built yet)") { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(_ => NotBuiltYet.Say("upload", 5));
        return command;
    }
}
