using System.CommandLine;
using System.Globalization;
using Foom.Cli.Output;
using Foom.Recorder.Recording;
using Foom.Report.IO;
using Foom.Report.Pprof;
using Foom.Report.Views;
using Foom.Storage.Sessions;

namespace Foom.Cli.Commands;

/// <summary>
/// `foom report [SESSION_DIR|REPORT.json] [--format text|json|tree|collapsed|speedscope|pprof]
/// [--inverted] [--system-frames] [--data DIR] [--app ID] [--rebuild]`: what held the memory. A session directory shows the report saved in
/// it when the run ended, if there is one (said on stderr), else one built from its tables now
/// (--rebuild: built now in any case); a report file
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
            Description = "text (for people), json (the report), tree (the call tree with bytes per node: top-down, or with --inverted the allocating function first), collapsed (folded stacks by live bytes, for flame graphs), speedscope, or pprof (gzip'ed profile.proto, for go tool pprof, Pyroscope, Parca; binary: redirect it to a file)",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json", "tree", "collapsed", "speedscope", "pprof");
        var inverted = new Option<bool>("--inverted") { Description = "with --format tree: the allocating function at the root, then who called it (heaptrack's bottom-up)" };
        var systemFrames = new Option<bool>("--system-frames") { Description = "with --format tree: keep allocator and runtime frames (malloc, operator new, the hook), which the tree leaves out by default" };
        var data = new Option<string?>("--data") { Description = "the data directory (else FOOM_DATA, XDG_DATA_HOME/foom, ~/.local/share/foom)" };
        var app = new Option<string?>("--app") { Description = "the app whose newest session to show" };
        var rebuild = new Option<bool>("--rebuild")
        {
            Description = "build the report of a session afresh from its tables, even when the session holds the report saved when the run ended",
        };
        var command = new Command("report", "Show what held the memory in a session or report") { input, format, inverted, systemFrames, data, app, rebuild };
        command.SetAction(parse => Run(parse.GetValue(input), parse.GetValue(format) ?? "text", new TreeChoices(parse.GetValue(inverted), parse.GetValue(systemFrames)),
            parse.GetValue(data), parse.GetValue(app), parse.GetValue(rebuild)));
        return command;
    }

    /// <summary>How --format tree draws the tree.</summary>
    private readonly record struct TreeChoices(bool Inverted, bool SystemFrames);

    private static int Run(string? input, string format, TreeChoices tree, string? dataPath, string? app, bool rebuild)
    {
        if (format == "pprof" && !BinaryOutput.CanWrite("report")) return 2;
        // A session's saved report was named and symbolicated at the death, with the binaries of
        // that moment: more faithful than one built now, after an upgrade replaced them.
        var report = ReportLoading.Load("report", input, dataPath, app, rebuild ? null : (path, saved) =>
            Console.Error.WriteLine($"foom report: showing {path}, the report saved when the run ended" +
                                    (saved.Head.ReportTime is { } time ? $" ({DateTimeOffset.FromUnixTimeMilliseconds(time).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)})" : "") +
                                    "; --rebuild builds it afresh from the session"));
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
            case "tree":
                TreeView.Write(report, Console.Out, tree.Inverted, tree.SystemFrames);
                break;
            case "collapsed":
                CollapsedView.Write(report, Console.Out);
                break;
            case "speedscope":
                using (var stdout = Console.OpenStandardOutput())
                    SpeedscopeView.Write(report, name, stdout);
                break;
            case "pprof":
                using (var stdout = Console.OpenStandardOutput())
                    PprofView.Write(report, stdout);
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

    public static Foom.Report.Model.Report? Load(string command, string? input, string? dataPath, string? app, ReportInputs.SavedReportUsed? savedUsed = null)
    {
        try
        {
            return ReportInputs.Load(input, DataDirectory.Resolve(dataPath), app, directory => SessionReport.Build(directory), savedUsed);
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
