using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text.RegularExpressions;
using Foom.Managed;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace Foom.Benchmarks;

/// <summary>
/// What one managed heap census costs a .NET program, measured on samples/ViewModelHoarder
/// holding a heap of the given size (docs/benchmarks.md, "Managed heap census"): the pause (from
/// the runtime's own suspend and restart events), the bytes read from its diagnostics port, the
/// memory the program holds on to meanwhile (its peak RSS above what it had, reset before each
/// census through /proc/PID/clear_refs), and Foom's own CPU time to read and sum them. Beside it,
/// the pause of a plain forced gen2 collection of the same heap, without the walk.
/// </summary>
public static partial class CensusCost
{
    public static void Print(string[] args)
    {
        var megabytes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 300;
        var textChars = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 120;
        var runs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
        using var target = StartHoarder(megabytes, textChars);
        var pid = target.Id;
        var runtime = DotnetProcess.Look(pid)?.RuntimeVersion;
        var client = new DiagnosticsClient(pid);
        Console.WriteLine($"ViewModelHoarder holding {megabytes} MB of view models with {textChars}-character texts (pid {pid}, .NET {runtime}); RSS {Mib(Rss(pid))}");
        for (var i = 0; i < runs; i++)
            Console.WriteLine($"plain forced gen2 collection, no walk: pause {PlainCollectionPause(client):0} ms");

        var policy = new CensusPolicy();
        Console.WriteLine();
        Console.WriteLine("| run | objects | heap counted | pause | whole census | read from the port | buffer allowed | target's extra peak RSS | lost events | Foom CPU |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 1; i <= runs; i++)
        {
            var before = Rss(pid);
            ResetPeak(pid);
            var buffer = policy.BufferBytes(before, null, null);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var census = HeapCensus.Take(client, new CensusRequest("benchmark", before, null, buffer), runtime, TimeSpan.FromMinutes(2));
            var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            var extra = Peak(pid) - before;
            policy.Taken(DateTime.UtcNow, TimeSpan.FromMilliseconds(census.PauseMilliseconds), TimeSpan.FromMilliseconds(census.DurationMilliseconds),
                before, census.Bytes, census.TransferredBytes, census.LostEvents == 0);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {i} | {census.Count:N0} | {Mib(census.Bytes)} | {census.PauseMilliseconds:0} ms | {census.DurationMilliseconds:0} ms | {Mib(census.TransferredBytes)} | {Mib(census.BufferBytes)} | {Mib(Math.Max(0, extra))} | {census.LostEvents} | {cpuUsed.TotalMilliseconds:0} ms |"));
        }
        target.Kill();
    }

    private static Process StartHoarder(int megabytes, int textChars)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "ViewModelHoarder.dll"), "--rate", "400", "--hold", megabytes.ToString(CultureInfo.InvariantCulture),
                     "--text-chars", textChars.ToString(CultureInfo.InvariantCulture), "--native-kb", "0" })
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet could not be started");
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (!HoldingLine().IsMatch(line)) continue;
            _ = process.StandardOutput.ReadToEndAsync();
            return process;
        }
        throw new InvalidOperationException("ViewModelHoarder ended before it held its heap");
    }

    /// <summary>The pause of a forced blocking gen2 collection (the GCHeapCollect keyword alone), for comparison.</summary>
    private static double PlainCollectionPause(DiagnosticsClient client)
    {
        const long gcHeapCollect = 0x800000;
        var provider = new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, (long)ClrTraceEventParser.Keywords.GC | gcHeapCollect);
        using var session = client.StartEventPipeSession(new EventPipeSessionConfiguration([provider], 16, requestRundown: false, requestStackwalk: false));
        using var source = new EventPipeEventSource(session.EventStream);
        double? suspended = null, pause = null;
        var collection = -1;
        source.Clr.GCSuspendEEStart += data => suspended ??= data.TimeStampRelativeMSec;
        source.Clr.GCStart += data =>
        {
            if (collection < 0 && data.Depth == 2) collection = data.Count;
        };
        source.Clr.GCRestartEEStop += data =>
        {
            if (collection < 0 || pause is not null || suspended is null) return;
            pause = data.TimeStampRelativeMSec - suspended.Value;
            Task.Run(session.Stop);
        };
        source.Process();
        return pause ?? double.NaN;
    }

    private static long Rss(int pid) => Status(pid, "VmRSS:");

    private static long Peak(int pid) => Status(pid, "VmHWM:");

    private static long Status(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidDataException($"/proc/{pid}/status has no {field}");
    }

    /// <summary>Resets the peak RSS (VmHWM) to the current RSS (Linux: 5 in clear_refs).</summary>
    private static void ResetPeak(int pid) => File.WriteAllText($"/proc/{pid}/clear_refs", "5");

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB");

    [GeneratedRegex(@"^holding \d+ view models")]
    private static partial Regex HoldingLine();
}
