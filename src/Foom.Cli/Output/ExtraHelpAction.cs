using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Foom.Cli.Output;

/// <summary>
/// The usual help, followed by examples for one command when its own help is asked for
/// (`foom run --help`), so the list of commands in `foom --help` keeps one line per command.
/// </summary>
internal sealed class ExtraHelpAction(SynchronousCommandLineAction usual, Command command, string examples) : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        var status = usual.Invoke(parseResult);
        if (parseResult.CommandResult.Command == command) parseResult.InvocationConfiguration.Output.WriteLine(examples);
        return status;
    }

    /// <summary>Makes the root's help option print <paramref name="examples"/> after <paramref name="command"/>'s help.</summary>
    public static void Add(RootCommand root, Command command, string examples)
    {
        foreach (var option in root.Options)
            if (option is HelpOption { Action: SynchronousCommandLineAction usual } help)
                help.Action = new ExtraHelpAction(usual, command, examples);
    }
}
