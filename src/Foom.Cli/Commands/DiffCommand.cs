using System.CommandLine;
using Foom.Cli.Output;
using Foom.Report.Diff;
using Foom.Report.IO;
using Foom.Report.Pprof;

namespace Foom.Cli.Commands;

/// <summary>
/// `foom diff A B [--format text|json|collapsed|difffolded|pprof] [--grown-only|--shrunk-only]`: what
/// grew and what shrank from A to B (reports or sessions), per category and per stack.
/// Flame-graph tools take positive weights only: `collapsed --grown-only` and
/// `collapsed --shrunk-only` give one ordinary folded file per direction; `difffolded` gives
/// `path BEFORE AFTER` lines that flamegraph.pl and inferno-flamegraph draw as a differential
/// flame graph; plain `collapsed` has signed weights, for scripts.
/// </summary>
internal static class DiffCommand
{
    public static Command Create()
    {
        var before = new Argument<string>("A") { Description = "the earlier report file or session directory" };
        var after = new Argument<string>("B") { Description = "the later report file or session directory" };
        var format = new Option<string>("--format")
        {
            Description = "text (tables), json, collapsed (folded stacks of the change), difffolded (path BEFORE AFTER, for differential flame graphs) or pprof (gzip'ed profile.proto of the change, A's samples negated; binary: redirect it to a file)",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json", "collapsed", "difffolded", "pprof");
        var grownOnly = new Option<bool>("--grown-only") { Description = "collapsed: only what grew, weighted by the growth" };
        var shrunkOnly = new Option<bool>("--shrunk-only") { Description = "collapsed: only what shrank, weighted by the bytes released" };
        var data = new Option<string?>("--data") { Description = "the data directory" };
        var command = new Command("diff", "Compare two reports or sessions: what grew and what shrank") { before, after, format, grownOnly, shrunkOnly, data };
        command.SetAction(parse => Run(parse.GetValue(before)!, parse.GetValue(after)!, parse.GetValue(format) ?? "text",
            parse.GetValue(grownOnly), parse.GetValue(shrunkOnly), parse.GetValue(data)));
        return command;
    }

    private static int Run(string beforeInput, string afterInput, string format, bool grownOnly, bool shrunkOnly, string? data)
    {
        if (grownOnly && shrunkOnly)
        {
            Console.Error.WriteLine("foom diff: --grown-only and --shrunk-only exclude each other: run twice for the two files");
            return 2;
        }
        if ((grownOnly || shrunkOnly) && format != "collapsed")
        {
            Console.Error.WriteLine("foom diff: --grown-only and --shrunk-only go with --format collapsed");
            return 2;
        }
        if (format == "pprof" && !BinaryOutput.CanWrite("diff")) return 2;
        var before = ReportLoading.Load("diff", beforeInput, data, null);
        if (before is null) return ReportLoading.FailureStatus;
        var after = ReportLoading.Load("diff", afterInput, data, null);
        if (after is null) return ReportLoading.FailureStatus;

        var diff = ReportDiff.Compare(before, after);
        switch (format)
        {
            case "json":
                Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(diff, ReportJson.TypeInfo<ReportDiff>(ReportJson.Indented)));
                break;
            case "collapsed":
                DiffViews.WriteCollapsed(diff, grownOnly ? DiffSelection.GrownOnly : shrunkOnly ? DiffSelection.ShrunkOnly : DiffSelection.Signed, Console.Out);
                break;
            case "difffolded":
                DiffViews.WriteDiffFolded(diff, Console.Out);
                break;
            case "pprof":
                using (var stdout = Console.OpenStandardOutput())
                    PprofView.WriteDiff(before, after, stdout);
                break;
            default:
                DiffViews.RenderText(diff, TextConsole.Create());
                break;
        }
        return 0;
    }
}
