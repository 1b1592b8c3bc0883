using System.CommandLine;
using Foom.Cli.Output;
using Foom.Report.Building;
using Foom.Report.IO;
using Foom.Report.Views;
using Foom.Storage.Sessions;

namespace Foom.Cli.Commands;

/// <summary>
/// `foom report [SESSION_DIR|REPORT.json] [--format text|json|collapsed|speedscope] [--data DIR]
/// [--app ID]`: what held the memory. A session directory is built into a report; a report file
/// (Foom's or a Matrix memstat report, plain or gzip'ed) is read and checked; with no argument,
/// the newest session. Nothing is printed until the whole report is read: a damaged input is an
/// error on stderr naming the file and field, with exit status 1.
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var input = new Argument<string?>("INPUT")
        {
            Description = "a session directory, or a report file (.json, .json.gz; Foom's or Matrix's); the newest session when left out",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var format = new Option<string>("--format")
        {
            Description = "text (for people), json (the report), collapsed (folded stacks by live bytes, for flame graphs) or speedscope",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json", "collapsed", "speedscope");
        var data = new Option<string?>("--data") { Description = "the data directory (else FOOM_DATA, XDG_DATA_HOME/foom, ~/.local/share/foom)" };
        var app = new Option<string?>("--app") { Description = "the app whose newest session to show" };
        var command = new Command("report", "Show what held the memory in a session or report") { input, format, data, app };
        command.SetAction(parse => Run(parse.GetValue(input), parse.GetValue(format) ?? "text", parse.GetValue(data), parse.GetValue(app)));
        return command;
    }

    private static int Run(string? input, string format, string? dataPath, string? app)
    {
        var report = ReportLoading.Load("report", input, dataPath, app);
        if (report is null) return ReportLoading.FailureStatus;
        var name = report.Head.ReportId ?? Path.GetFileName(input ?? "report");
        switch (format)
        {
            case "json":
                using (var stdout = Console.OpenStandardOutput())
                {
                    ReportWriter.WriteIndented(report, stdout);
                    stdout.Write("\n"u8);
                }
                break;
            case "collapsed":
                CollapsedView.Write(report, Console.Out);
                break;
            case "speedscope":
                using (var stdout = Console.OpenStandardOutput())
                    SpeedscopeView.Write(report, name, stdout);
                break;
            default:
                TextView.Render(report, TextConsole.Create());
                break;
        }
        return 0;
    }
}

/// <summary>Loading the report a command works on, with the errors every report command prints the same way.</summary>
internal static class ReportLoading
{
    /// <summary>The exit status of a command whose input could not be read.</summary>
    public static int FailureStatus { get; private set; } = 1;

    public static Foom.Report.Model.Report? Load(string command, string? input, string? dataPath, string? app)
    {
        try
        {
            return ReportInputs.Load(input, DataDirectory.Resolve(dataPath), app, directory => ReportBuilder.Build(directory));
        }
        catch (ReportFormatException e)
        {
            Console.Error.WriteLine($"foom {command}: {e.Message}");
            FailureStatus = 1;
        }
        catch (Foom.Storage.SessionFormatException e)
        {
            Console.Error.WriteLine($"foom {command}: {e.Message}");
            FailureStatus = 1;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"foom {command}: {e.Message}");
            FailureStatus = 2;
        }
        catch (NotSupportedException e)
        {
            Console.Error.WriteLine($"foom {command}: {e.Message}");
            FailureStatus = 2;
        }
        return null;
    }
}
