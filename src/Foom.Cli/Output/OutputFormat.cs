using System.CommandLine;

namespace Foom.Cli.Output;

/// <summary>The --format option shared by the listing commands: a table for people, JSON for programs.</summary>
internal static class OutputFormat
{
    public const string Text = "text";
    public const string Json = "json";

    public static Option<string> CreateOption()
    {
        var option = new Option<string>("--format")
        {
            Description = "text (a table) or json",
            DefaultValueFactory = _ => Text,
        };
        option.AcceptOnlyFromAmong(Text, Json);
        return option;
    }
}
