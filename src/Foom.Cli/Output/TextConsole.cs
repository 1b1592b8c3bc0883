using Spectre.Console;

namespace Foom.Cli.Output;

/// <summary>
/// The console the text formats write to. Spectre assumes 80 columns when stdout is a pipe or a
/// file, which folds every table row into several lines; piped output gets room for a whole row.
/// </summary>
internal static class TextConsole
{
    private const int PipedWidth = 200;

    public static IAnsiConsole Create()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected) console.Profile.Width = PipedWidth;
        return console;
    }
}
