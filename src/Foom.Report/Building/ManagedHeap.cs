using Foom.Report.Model;
using Foom.Storage;
using Foom.Storage.Managed;
using Foom.Symbols;
using Foom.Symbols.Jit;

namespace Foom.Report.Building;

/// <summary>
/// A .NET target's managed heap as its session recorded it (src/Foom.Storage/Managed): the
/// managed recorder's status, the last census and the sampled allocation stacks. A damaged file
/// does not stop the report: its problem is kept (for head.recovery) and the rest is used.
/// </summary>
public sealed partial class ManagedHeap
{
    public ManagedStatus? Status { get; init; }
    public ManagedCensus? Census { get; init; }
    public ManagedAllocations? Allocations { get; init; }
    /// <summary>The heap dump read at the death; when it has types, they are <see cref="Census"/>.</summary>
    public ManagedDump? Dump { get; init; }
    /// <summary>Files that could not be read, one sentence each, naming the file.</summary>
    public List<string> Problems { get; init; } = [];

    /// <summary>
    /// Reads the managed files of a session; null when it has none (a program that showed no .NET
    /// runtime). Frames the runtime's events left unnamed are looked up in the session's perf maps
    /// (tier-1 code the recorder saw only as an address).
    /// </summary>
    public static ManagedHeap? Read(string sessionDirectory, IReadOnlyList<string> perfMaps)
    {
        var problems = new List<string>();
        T? Load<T>(Func<string, T?> read) where T : class
        {
            try
            {
                return read(sessionDirectory);
            }
            catch (SessionFormatException problem)
            {
                problems.Add($"{problem.Message}: the managed heap is reported without it");
                return null;
            }
        }
        var status = Load(ManagedFiles.ReadStatus);
        var census = Load(ManagedFiles.ReadCensus);
        var allocations = Load(ManagedFiles.ReadAllocations);
        var dump = Load(ManagedFiles.ReadDump);
        if (status is null && census is null && allocations is null && dump is null && problems.Count == 0) return null;
        if (allocations is not null) NameFromPerfMaps(allocations, perfMaps);
        // The heap at the instant of death is newer and whole (no lost events): it replaces the last census.
        return new ManagedHeap { Status = status, Census = dump?.Census ?? census, Allocations = allocations, Dump = dump, Problems = problems };
    }

    private static void NameFromPerfMaps(ManagedAllocations allocations, IReadOnlyList<string> perfMaps)
    {
        if (allocations.Frames.All(f => f.Function is not null)) return;
        var maps = new List<PerfMap>();
        foreach (var path in perfMaps)
        {
            try
            {
                maps.Add(PerfMap.Read(path));
            }
            catch (SymbolFileException)
            {
                // An unreadable map names nothing; the frame keeps its address.
            }
        }
        foreach (var frame in allocations.Frames)
        {
            if (frame.Function is not null) continue;
            foreach (var map in maps)
            {
                if (map.Lookup(frame.Address) is { } match)
                {
                    (frame.Function, var assembly) = MethodName(match.Name);
                    frame.Module ??= assembly;
                    break;
                }
            }
        }
    }

    /// <summary>
    /// A .NET perf map's "ret [Assembly] Ns.Type::Method(args)[Tier]" in the form the runtime's
    /// method events give the other managed frames ("Ns.Type.Method(args)"), with its assembly, so
    /// that one method is one frame (and one stack) whichever source named it; any other name as it is.
    /// </summary>
    internal static (string Function, string? Assembly) MethodName(string perfMapName)
    {
        var match = PerfMapMethod().Match(perfMapName);
        return match.Success
            ? ($"{match.Groups["type"].Value}.{match.Groups["method"].Value}{match.Groups["args"].Value}", match.Groups["assembly"].Value)
            : (perfMapName, null);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:.*? )?\[(?<assembly>[^\]]+)\] (?<type>[^ ]+?)::(?<method>[^(]+)(?<args>\(.*\))(?:\[[A-Za-z0-9]+\])?$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex PerfMapMethod();

    /// <summary>The head's managed section: the census's facts, or why there is none.</summary>
    public ReportManaged Head(int listedTypes)
    {
        var head = new ReportManaged
        {
            RuntimeVersion = Status?.RuntimeVersion,
            AllocationSampling = Status?.AllocationSampling ?? Allocations?.Method,
            AllocationSamples = Allocations?.Samples ?? 0,
            AllocationSamplingProblem = Status?.AllocationSamplingProblem,
            CensusProblems = Status is { CensusProblems.Count: > 0 } s ? [.. s.CensusProblems] : null,
            HeapAtDeath = Dump is { } dump ? HeapAtDeath(dump) : null,
        };
        if (Census is { } census)
        {
            head.Census = new ReportCensus
            {
                Time = census.Time,
                FootprintBytes = census.FootprintBytes,
                LimitBytes = census.LimitBytes,
                Trigger = census.Trigger,
                Bytes = census.Bytes,
                Count = census.Count,
                Types = census.Types.Count,
                ListedTypes = listedTypes,
                PauseMilliseconds = census.PauseMilliseconds,
                TransferredBytes = census.TransferredBytes,
                LostEvents = census.LostEvents,
            };
        }
        else head.NoCensus = WhyNoCensus();
        return head;
    }

    private static ReportHeapAtDeath HeapAtDeath(ManagedDump dump) => new()
    {
        Time = dump.Time,
        DumpBytes = dump.DumpBytes,
        ReadMilliseconds = dump.ReadMilliseconds,
        KeptPath = dump.KeptPath,
        Problem = dump.Problem,
        Exception = dump.Exception is { } thrown
            ? new ReportDeathException { Type = thrown.Type, Message = thrown.Message, HResult = thrown.HResult, Thread = thrown.Thread, Frames = [.. thrown.Frames] }
            : null,
        RootPaths = [.. dump.RootPaths.Select(path => new ReportRootPath
        {
            Type = path.Type, RootKind = path.RootKind, Root = path.Root,
            Steps = [.. path.Steps.Select(step => new ReportRootStep { Type = step.Type, Via = step.Via })],
        })],
    };

    private string WhyNoCensus()
    {
        if (Status?.NoCensus is { Length: > 0 } why) return why;
        if (Problems.Count > 0) return "the census file could not be read: " + Problems[0];
        if (Status?.CensusStarted is not null) return "the program died during the first census, before it finished";
        if (Status is { CensusProblems.Count: > 0 } failed) return "no census succeeded: " + failed.CensusProblems[^1];
        if (Status?.Diagnostics == "connected")
            return "no census was due: the footprint never reached 30 % of the limit (the first near-limit census) and no memory warning was raised";
        return "the program's .NET runtime was not reached through its diagnostics port before the report was made";
    }
}
