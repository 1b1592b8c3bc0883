using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Foom.Cli.Output;
using Foom.Ios.Jetsam;
using Spectre.Console;

namespace Foom.Cli.Commands;

/// <summary>
/// `foom jetsam FILE... [--format text|json]`: reads iOS JetsamEvent logs and prints, for each,
/// the device, OS, page size, largest process, memory state and the killed processes with their
/// footprints (rpages × page size) and the limits those kills reveal. A file that cannot be read
/// gets a line on stderr naming it and what is wrong; the others are still printed; the exit
/// status is then 1.
/// </summary>
internal static class JetsamCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE") { Description = "JetsamEvent .ips files", Arity = ArgumentArity.OneOrMore };
        var format = OutputFormat.CreateOption();
        var command = new Command("jetsam", "Read iOS JetsamEvent logs: device, OS, page size, killed processes, their footprints and the limits they imply")
        {
            files,
            format,
        };
        command.SetAction(parse => Run(parse.GetValue(files) ?? [], parse.GetValue(format) ?? OutputFormat.Text));
        return command;
    }

    private static int Run(string[] files, string format)
    {
        var summaries = files.Select(Read).ToList();
        foreach (var failed in summaries.Where(summary => summary.Error is not null))
            Console.Error.WriteLine($"foom jetsam: {failed.File}: {failed.Error}");

        if (format == OutputFormat.Json)
        {
            var array = new JsonArray(summaries.Select(summary => (JsonNode?)summary.ToJson()).ToArray());
            Console.Out.WriteLine(array.ToJsonString(JsonOutput.Options));
        }
        else
        {
            foreach (var summary in summaries.Where(summary => summary.Error is null)) WriteText(summary);
        }
        return summaries.Any(summary => summary.Error is not null) ? 1 : 0;
    }

    private static JetsamSummary Read(string file)
    {
        try
        {
            if (Directory.Exists(file)) return JetsamSummary.Failed(file, new JetsamFormatError("is a directory, not a JetsamEvent file"));
            using var stream = File.OpenRead(file);
            var result = JetsamParser.Parse(stream);
            return result.Succeeded ? JetsamSummary.Of(file, result.Event) : JetsamSummary.Failed(file, result.Error);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return JetsamSummary.Failed(file, new JetsamFormatError($"cannot be read: {problem.Message}"));
        }
    }

    private static void WriteText(JetsamSummary summary)
    {
        var console = TextConsole.Create();
        Console.Out.WriteLine(summary.File);
        void Fact(string name, string? value) => Console.Out.WriteLine($"  {name,-16} {value ?? "?"}");
        Fact("device", summary.Product);
        Fact("OS", summary.OsVersion);
        Fact("date", summary.Date);
        Fact("incident", summary.Incident);
        Fact("page size", summary.PageSize?.ToString(CultureInfo.InvariantCulture));
        Fact("largest process", summary.LargestProcess);
        if (summary.MemoryStatus is { Count: > 0 } status && summary.PageSize is { } pageSize)
            Fact("memory", string.Join(", ", status.Select(pair => $"{pair.Key} {ByteText.Format(pair.Value * pageSize)}")));

        var killed = summary.ProcessesKilled ?? [];
        if (killed.Count == 0)
        {
            Console.Out.WriteLine("  no process was killed in this event");
            console.WriteLine();
            return;
        }
        var table = new Table().AddColumns("process", "pid", "reason", "states", "rpages", "footprint", "lifetime max", "limit");
        foreach (var column in table.Columns.Skip(4)) column.RightAligned();
        foreach (var process in killed)
            table.AddRow(
                Markup.Escape(process.Name),
                process.Pid?.ToString(CultureInfo.InvariantCulture) ?? "-",
                Markup.Escape(process.Reason),
                Markup.Escape(string.Join(",", process.States)),
                process.Rpages.ToString(CultureInfo.InvariantCulture),
                ByteText.Format(process.FootprintBytes),
                ByteText.Format(process.LifetimeMaxBytes),
                ByteText.Format(process.LimitBytes));
        console.Write(table);
        console.WriteLine();
    }
}
