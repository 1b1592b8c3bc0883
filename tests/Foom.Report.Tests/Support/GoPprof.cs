using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Foom.Report.Tests.Support;

/// <summary>
/// Reads a pprof file with the real reader, `go tool pprof` (Debian's golang-go; ./test installs
/// it), and parses its `-raw` listing: the sample types, every sample's values, locations and
/// labels, the locations' text and the comments. A machine without Go fails the test saying so.
/// </summary>
internal sealed partial class GoPprof
{
    public sealed record Sample(long[] Values, ulong[] Locations, string Labels);

    public List<string> SampleTypes { get; } = [];
    public List<Sample> Samples { get; } = [];
    public Dictionary<ulong, string> Locations { get; } = [];
    public List<string> Comments { get; } = [];
    public string Raw { get; private set; } = "";

    public static GoPprof Read(byte[] profile)
    {
        var file = Path.Combine(Path.GetTempPath(), $"foom-pprof-{Guid.NewGuid():N}.pb.gz");
        File.WriteAllBytes(file, profile);
        try
        {
            return Parse(Run("-symbolize=none", "-raw", file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Runs `go tool pprof ARGS` and returns its standard output; a non-zero exit fails the test with pprof's own words.</summary>
    public static string Run(params string[] args)
    {
        var start = new ProcessStartInfo("go") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("tool");
        start.ArgumentList.Add("pprof");
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // pprof keeps fetched profiles and symbols under $HOME/pprof; nothing here must leave files behind.
        start.Environment["PPROF_TMPDIR"] = Path.GetTempPath();
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("`go tool pprof` cannot run (" + e.Message + "): install Debian's golang-go (./test installs it)", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("go tool pprof did not finish in 120 s");
            }
            Assert.True(process.ExitCode == 0, $"go tool pprof {string.Join(' ', args)} failed ({process.ExitCode}): {error.Result}");
            return output.Result;
        }
    }

    private static GoPprof Parse(string raw)
    {
        var result = new GoPprof { Raw = raw };
        var lines = raw.Split('\n');
        var section = "";
        Sample? last = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("Comment: ", StringComparison.Ordinal)) { result.Comments.Add(line["Comment: ".Length..]); continue; }
            if (line is "Samples:" or "Locations" or "Mappings") { section = line; continue; }
            if (section == "Samples:")
            {
                if (result.SampleTypes.Count == 0)
                {
                    result.SampleTypes.AddRange(line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => t.Replace("[dflt]", "", StringComparison.Ordinal)));
                    continue;
                }
                var match = SampleLine().Match(line);
                if (match.Success)
                {
                    last = new Sample(
                        match.Groups["values"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray(),
                        match.Groups["locations"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ulong.Parse).ToArray(),
                        "");
                    result.Samples.Add(last);
                }
                else if (last is not null && line.Trim().Length > 0)
                {
                    result.Samples[^1] = last = last with { Labels = (last.Labels + " " + line.Trim()).Trim() };
                }
            }
            else if (section == "Locations")
            {
                var match = LocationLine().Match(line);
                if (match.Success) result.Locations[ulong.Parse(match.Groups["id"].Value)] = match.Groups["text"].Value;
            }
        }
        Assert.True(result.SampleTypes.Count > 0, "pprof listed no sample types:\n" + raw);
        return result;
    }

    /// <summary>The sum of one sample type's values over the samples that pass <paramref name="where"/>.</summary>
    public long Total(string sampleType, Func<Sample, bool>? where = null)
    {
        var index = SampleTypes.IndexOf(sampleType);
        Assert.True(index >= 0, $"no sample type {sampleType} in {string.Join(", ", SampleTypes)}");
        return Samples.Where(s => where?.Invoke(s) ?? true).Sum(s => s.Values[index]);
    }

    /// <summary>The text pprof gives a sample's innermost location (the category in Foom's profiles).</summary>
    public string Leaf(Sample sample) => Locations[sample.Locations[0]];

    [GeneratedRegex(@"^\s*(?<values>-?\d+(\s+-?\d+)*):(?<locations>( \d+)*)\s*$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"^\s*(?<id>\d+): (?<text>.*)$")]
    private static partial Regex LocationLine();
}
