using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Foom.Storage.Managed;

/// <summary>
/// The files a session keeps about a .NET target's managed heap, beside session.json (see
/// docs/report-format.md, "Managed heap"): <c>managed.json</c> (what the managed recorder could
/// do, and why not when it could not), <c>managed-census.json</c> (the last heap census: type
/// name → count and bytes) and <c>managed-allocations.json</c> (sampled allocation stacks by
/// type) and <c>managed-dump.json</c> (the heap at death, read from the runtime's dump). The recorder writes them atomically, so a kill leaves the previous version whole;
/// the report builder reads them.
/// </summary>
public static class ManagedFiles
{
    public const string StatusFileName = "managed.json";
    public const string CensusFileName = "managed-census.json";
    public const string AllocationsFileName = "managed-allocations.json";
    public const string DumpFileName = "managed-dump.json";
    public const int CurrentFormatVersion = 1;

    public static void WriteStatus(string sessionDirectory, ManagedStatus status) => Write(sessionDirectory, StatusFileName, status, ManagedJson.Default.ManagedStatus);

    public static void WriteCensus(string sessionDirectory, ManagedCensus census) => Write(sessionDirectory, CensusFileName, census, ManagedJson.Default.ManagedCensus);

    public static void WriteAllocations(string sessionDirectory, ManagedAllocations allocations) => Write(sessionDirectory, AllocationsFileName, allocations, ManagedJson.Default.ManagedAllocations);

    public static void WriteDump(string sessionDirectory, ManagedDump dump) => Write(sessionDirectory, DumpFileName, dump, ManagedJson.Default.ManagedDump);

    /// <summary>managed-dump.json, or null when no heap dump was written at the death.</summary>
    public static ManagedDump? ReadDump(string sessionDirectory)
    {
        var dump = Read(sessionDirectory, DumpFileName, ManagedJson.Default.ManagedDump, d => d.FormatVersion);
        if (dump?.Census is { } census)
        {
            var path = Path.Combine(sessionDirectory, DumpFileName);
            for (var i = 0; i < census.Types.Count; i++)
                if (census.Types[i] is not { Name.Length: > 0, Count: >= 0, Bytes: >= 0 }) throw new SessionFormatException(path, $"census.types[{i}] has no name or a negative count or size");
        }
        return dump;
    }

    /// <summary>managed.json, or null when the session has none (the target was not watched for a .NET runtime).</summary>
    public static ManagedStatus? ReadStatus(string sessionDirectory) => Read(sessionDirectory, StatusFileName, ManagedJson.Default.ManagedStatus, s => s.FormatVersion);

    /// <summary>managed-census.json, or null when no census was completed.</summary>
    public static ManagedCensus? ReadCensus(string sessionDirectory)
    {
        var census = Read(sessionDirectory, CensusFileName, ManagedJson.Default.ManagedCensus, c => c.FormatVersion);
        if (census is null) return null;
        var path = Path.Combine(sessionDirectory, CensusFileName);
        for (var i = 0; i < census.Types.Count; i++)
        {
            var type = census.Types[i];
            if (type is null || string.IsNullOrEmpty(type.Name)) throw new SessionFormatException(path, $"types[{i}].name is missing");
            if (type.Count < 0 || type.Bytes < 0) throw new SessionFormatException(path, $"types[{i}] ({type.Name}) has a negative count or size");
        }
        return census;
    }

    /// <summary>managed-allocations.json, or null when no allocation was sampled.</summary>
    public static ManagedAllocations? ReadAllocations(string sessionDirectory)
    {
        var allocations = Read(sessionDirectory, AllocationsFileName, ManagedJson.Default.ManagedAllocations, a => a.FormatVersion);
        if (allocations is null) return null;
        var path = Path.Combine(sessionDirectory, AllocationsFileName);
        for (var s = 0; s < allocations.Stacks.Count; s++)
        {
            var stack = allocations.Stacks[s];
            if (stack is null || string.IsNullOrEmpty(stack.Type)) throw new SessionFormatException(path, $"stacks[{s}].type is missing");
            foreach (var frame in stack.Frames)
                if ((uint)frame >= (uint)allocations.Frames.Count)
                    throw new SessionFormatException(path, $"stacks[{s}].frames refers to frame {frame}, but there are {allocations.Frames.Count} frames");
        }
        return allocations;
    }

    private static T? Read<T>(string sessionDirectory, string fileName, JsonTypeInfo<T> typeInfo, Func<T, int> version) where T : class
    {
        var path = Path.Combine(sessionDirectory, fileName);
        if (!File.Exists(path)) return null;
        T? value;
        try
        {
            var bytes = File.ReadAllBytes(path);
            if (Text.JsonStrings.FindBad(bytes) is { } bad) throw new SessionFormatException(path, bad.ToString());
            value = JsonSerializer.Deserialize(bytes, typeInfo);
        }
        catch (JsonException problem)
        {
            var field = string.IsNullOrEmpty(problem.Path) || problem.Path == "$" ? "" : $" at {problem.Path}";
            throw new SessionFormatException(path, $"is not valid JSON{field} (truncated or corrupt): line {problem.LineNumber + 1}", problem);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            throw new SessionFormatException(path, $"cannot be read: {problem.Message}", problem);
        }
        if (value is null) throw new SessionFormatException(path, "holds null");
        if (version(value) != CurrentFormatVersion)
            throw new SessionFormatException(path, $"format_version is {version(value)}; this Foom reads version {CurrentFormatVersion}");
        return value;
    }

    /// <summary>Temporary file, flushed, renamed over the old one: a kill leaves the old file or the new one.</summary>
    private static void Write<T>(string sessionDirectory, string fileName, T value, JsonTypeInfo<T> typeInfo)
    {
        var path = Path.Combine(sessionDirectory, fileName);
        var temporary = Path.Combine(sessionDirectory, $".{fileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                JsonSerializer.Serialize(stream, value, typeInfo);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}

/// <summary>The managed files' serializer metadata, generated at compile time (the native `foom run`
/// has no reflection-based serializer); nulls are left out when writing.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ManagedStatus))]
[JsonSerializable(typeof(ManagedCensus))]
[JsonSerializable(typeof(ManagedAllocations))]
[JsonSerializable(typeof(ManagedDump))]
internal sealed partial class ManagedJson : JsonSerializerContext;

/// <summary>managed.json: what the managed recorder found and did for one run.</summary>
public sealed class ManagedStatus
{
    [JsonPropertyName("format_version")] public int FormatVersion { get; set; } = ManagedFiles.CurrentFormatVersion;
    /// <summary>The .NET runtime's version when known ("10.0.12").</summary>
    [JsonPropertyName("runtime_version")] public string? RuntimeVersion { get; set; }
    /// <summary>"connected" (the diagnostics port answered), "unavailable" (a .NET runtime without a usable port), "not_dotnet".</summary>
    [JsonPropertyName("diagnostics")] public string Diagnostics { get; set; } = "";
    /// <summary>Why there is no census, one sentence, when the recorder knows it cannot take one.</summary>
    [JsonPropertyName("no_census")] public string? NoCensus { get; set; }
    [JsonPropertyName("censuses_taken")] public int CensusesTaken { get; set; }
    /// <summary>The last census attempts that failed or came out incomplete, newest last (at most a few).</summary>
    [JsonPropertyName("census_problems")] public List<string> CensusProblems { get; set; } = [];
    /// <summary>When a census was started and had not finished as this was written (ms since the epoch); a death then may have cut it.</summary>
    [JsonPropertyName("census_started")] public long? CensusStarted { get; set; }
    /// <summary>"allocation_sampled" (.NET 10's randomized sampling) or "allocation_tick" (GC AllocationTick, older runtimes).</summary>
    [JsonPropertyName("allocation_sampling")] public string? AllocationSampling { get; set; }
    /// <summary>Why allocations were not sampled, when they were not.</summary>
    [JsonPropertyName("allocation_sampling_problem")] public string? AllocationSamplingProblem { get; set; }
    /// <summary>The GC heap hard limit in force as the runtime derives it (null: none), and where it came from (<c>GcHeapHardLimit</c> in Foom.Managed).</summary>
    [JsonPropertyName("gc_heap_hard_limit_bytes")] public long? GcHeapHardLimitBytes { get; set; }
    [JsonPropertyName("gc_heap_hard_limit_source")] public string? GcHeapHardLimitSource { get; set; }
    /// <summary>The GC heap's size after the last collection the diagnostics port reported, and when (ms since the epoch).</summary>
    [JsonPropertyName("gc_heap_bytes")] public long? GcHeapBytes { get; set; }
    [JsonPropertyName("gc_heap_time")] public long? GcHeapTime { get; set; }
    /// <summary>OutOfMemoryExceptions thrown in the program (caught or not), the first few and the last few, oldest first.</summary>
    [JsonPropertyName("out_of_memory_exceptions")] public List<ManagedExceptionEvent>? OutOfMemoryExceptions { get; set; }
    /// <summary>How many were thrown in all (more than the list keeps when many were).</summary>
    [JsonPropertyName("out_of_memory_exceptions_total")] public long OutOfMemoryExceptionsTotal { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>managed-census.json: one census of the managed heap, as dotnet-gcdump counts it.</summary>
public sealed class ManagedCensus
{
    [JsonPropertyName("format_version")] public int FormatVersion { get; set; } = ManagedFiles.CurrentFormatVersion;
    /// <summary>When the census's garbage collection ran (ms since the epoch).</summary>
    [JsonPropertyName("time")] public long Time { get; set; }
    /// <summary>The target's footprint sampled just before the census.</summary>
    [JsonPropertyName("footprint_bytes")] public long FootprintBytes { get; set; }
    [JsonPropertyName("limit_bytes")] public long? LimitBytes { get; set; }
    /// <summary>What asked for it: "warning:&lt;source&gt;" or "near_limit".</summary>
    [JsonPropertyName("trigger")] public string Trigger { get; set; } = "";
    /// <summary>Live managed bytes and objects counted (the sum over types).</summary>
    [JsonPropertyName("bytes")] public long Bytes { get; set; }
    [JsonPropertyName("count")] public long Count { get; set; }
    /// <summary>How long the target was paused (the forced gen2 GC with its heap walk), from the runtime's own suspend/restart events.</summary>
    [JsonPropertyName("pause_ms")] public double PauseMilliseconds { get; set; }
    /// <summary>From asking to having counted the last object.</summary>
    [JsonPropertyName("duration_ms")] public double DurationMilliseconds { get; set; }
    /// <summary>Bytes of events read from the target's diagnostics port.</summary>
    [JsonPropertyName("transferred_bytes")] public long TransferredBytes { get; set; }
    /// <summary>The EventPipe buffer the census was allowed inside the target (it holds the walk's events until read).</summary>
    [JsonPropertyName("buffer_bytes")] public long BufferBytes { get; set; }
    /// <summary>Events the runtime dropped because the buffer filled: not zero means some objects were not counted.</summary>
    [JsonPropertyName("lost_events")] public long LostEvents { get; set; }
    /// <summary>Types sorted by bytes, largest first.</summary>
    [JsonPropertyName("types")] public List<ManagedTypeTotal> Types { get; set; } = [];

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class ManagedTypeTotal
{
    [JsonPropertyName("name")] public string Name { get; set; } = "";
    [JsonPropertyName("count")] public long Count { get; set; }
    [JsonPropertyName("bytes")] public long Bytes { get; set; }
}

/// <summary>managed-allocations.json: sampled managed allocations summed by type and stack.</summary>
public sealed class ManagedAllocations
{
    [JsonPropertyName("format_version")] public int FormatVersion { get; set; } = ManagedFiles.CurrentFormatVersion;
    /// <summary>"allocation_sampled" or "allocation_tick" (see <see cref="ManagedStatus.AllocationSampling"/>).</summary>
    [JsonPropertyName("method")] public string Method { get; set; } = "";
    [JsonPropertyName("samples")] public long Samples { get; set; }
    /// <summary>Samples whose (type, stack) pair was not kept because the table was full; their bytes still count in their type's totals.</summary>
    [JsonPropertyName("samples_unlisted")] public long SamplesUnlisted { get; set; }
    /// <summary>The managed methods the stacks refer to, by index.</summary>
    [JsonPropertyName("frames")] public List<ManagedFrame> Frames { get; set; } = [];
    [JsonPropertyName("stacks")] public List<ManagedStack> Stacks { get; set; } = [];

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class ManagedFrame
{
    /// <summary>The method, as the runtime's method events name it ("Ns.Type.Method(int32)"); null when the address is in no known method.</summary>
    [JsonPropertyName("function")] public string? Function { get; set; }
    /// <summary>The assembly file the method belongs to, when known.</summary>
    [JsonPropertyName("module")] public string? Module { get; set; }
    /// <summary>The code address (a return address for every frame but the innermost).</summary>
    [JsonPropertyName("address")] public ulong Address { get; set; }
}

public sealed class ManagedStack
{
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    /// <summary>Indexes into <see cref="ManagedAllocations.Frames"/>, innermost first.</summary>
    [JsonPropertyName("frames")] public List<int> Frames { get; set; } = [];
    [JsonPropertyName("samples")] public long Samples { get; set; }
    /// <summary>Estimated bytes and objects allocated here (each sample weighted by the inverse of its chance to be sampled).</summary>
    [JsonPropertyName("bytes")] public long Bytes { get; set; }
    [JsonPropertyName("count")] public long Count { get; set; }
}
