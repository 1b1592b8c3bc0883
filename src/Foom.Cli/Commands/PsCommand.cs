using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Foom.Cli.Output;
using Foom.Recorder.Limits;
using Spectre.Console;

namespace Foom.Cli.Commands;

/// <summary>
/// `foom ps`: the machine's processes in the order the kernel's OOM killer would pick them, the
/// way XNU's memorystatus priority list shows iOS processes: pid, name, footprint, oom_score,
/// oom_score_adj, memory cgroup and its limit.
/// </summary>
internal static class PsCommand
{
    public static Command Create()
    {
        var format = OutputFormat.CreateOption();
        var top = new Option<int?>("--top") { Description = "show only the first N processes" };
        var command = new Command("ps", "List processes in the order the kernel's OOM killer would kill them, with footprint, oom_score, cgroup and limit")
        {
            format,
            top,
        };
        command.SetAction(parse => Run(parse.GetValue(format) ?? OutputFormat.Text, parse.GetValue(top)));
        return command;
    }

    private static int Run(string format, int? top)
    {
        if (top is < 1)
        {
            Console.Error.WriteLine($"foom ps: --top must be at least 1, not {top}");
            return 2;
        }
        var ranks = MemoryPriorityList.Read().Take(top ?? int.MaxValue).ToList();
        if (format == OutputFormat.Json)
        {
            var array = new JsonArray(ranks.Select(rank => (JsonNode)new JsonObject
            {
                ["pid"] = rank.Pid,
                ["name"] = rank.Name,
                ["footprint_bytes"] = rank.FootprintBytes,
                ["oom_score"] = rank.OomScore,
                ["oom_score_adj"] = rank.OomScoreAdjust,
                ["cgroup"] = rank.Cgroup,
                ["limit_bytes"] = rank.LimitBytes,
            }).ToArray());
            Console.Out.WriteLine(array.ToJsonString(JsonOutput.Options));
            return 0;
        }

        var table = new Table().AddColumns("pid", "name", "footprint", "oom_score", "oom_score_adj", "memory cgroup", "limit");
        foreach (var index in new[] { 0, 2, 3, 4, 6 }) table.Columns[index].RightAligned();
        foreach (var rank in ranks)
            table.AddRow(
                rank.Pid.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(rank.Name),
                ByteText.Format(rank.FootprintBytes),
                rank.OomScore.ToString(CultureInfo.InvariantCulture),
                rank.OomScoreAdjust.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(rank.Cgroup ?? "-"),
                ByteText.Format(rank.LimitBytes, "none"));
        TextConsole.Create().Write(table);
        return 0;
    }
}
