using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Foom.Ios.Jetsam;

/// <summary>
/// The JSON shape `foom jetsam --format json` prints for one file, and the server answers for an
/// uploaded log: the device, the OS, the page size, the largest process, the memory state and
/// the killed processes with their footprints and the limits they reveal. A file that could not
/// be read has only <see cref="File"/> and <see cref="Error"/>.
/// </summary>
public sealed class JetsamSummary
{
    [JsonPropertyName("file")] public string File { get; init; } = "";
    [JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Error { get; init; }
    [JsonPropertyName("bug_type")] public string? BugType { get; init; }
    [JsonPropertyName("os_version")] public string? OsVersion { get; init; }
    [JsonPropertyName("product")] public string? Product { get; init; }
    [JsonPropertyName("incident")] public string? Incident { get; init; }
    [JsonPropertyName("date")] public string? Date { get; init; }
    [JsonPropertyName("page_size")] public long? PageSize { get; init; }
    [JsonPropertyName("largest_process")] public string? LargestProcess { get; init; }
    /// <summary>Pages by kind (free, active, inactive, wired, file_backed, anonymous, compressor, ...).</summary>
    [JsonPropertyName("memory_status")] public Dictionary<string, long>? MemoryStatus { get; init; }
    [JsonPropertyName("processes_killed")] public List<KilledProcess>? ProcessesKilled { get; init; }

    public sealed class KilledProcess
    {
        [JsonPropertyName("name")] public string Name { get; init; } = "";
        [JsonPropertyName("pid")] public int? Pid { get; init; }
        [JsonPropertyName("reason")] public string Reason { get; init; } = "";
        [JsonPropertyName("states")] public List<string> States { get; init; } = [];
        [JsonPropertyName("rpages")] public long Rpages { get; init; }
        [JsonPropertyName("footprint_bytes")] public long FootprintBytes { get; init; }
        [JsonPropertyName("lifetime_max_bytes")] public long? LifetimeMaxBytes { get; init; }
        [JsonPropertyName("limit_bytes")] public long? LimitBytes { get; init; }
    }

    public static JetsamSummary Of(string file, JetsamEvent report)
    {
        var status = report.MemoryPages.ToDictionary(pair => SnakeCase(pair.Key), pair => pair.Value, StringComparer.Ordinal);
        if (report.CompressorPages is { } compressor) status.TryAdd("compressor", compressor);
        return new JetsamSummary
        {
            File = file,
            BugType = report.BugType,
            OsVersion = report.OsVersion,
            Product = report.Product,
            Incident = report.Incident,
            Date = report.Date,
            PageSize = report.PageSize,
            LargestProcess = report.LargestProcess,
            MemoryStatus = status,
            ProcessesKilled = report.Killed.Select(process => new KilledProcess
            {
                Name = process.Name,
                Pid = process.Pid,
                Reason = process.Reason!,
                States = [.. process.States],
                // The parser refuses a killed process without rpages, so both are known here.
                Rpages = process.Rpages!.Value,
                FootprintBytes = process.FootprintBytes!.Value,
                LifetimeMaxBytes = process.LifetimeMaxBytes,
                LimitBytes = process.LimitBytes,
            }).ToList(),
        };
    }

    public static JetsamSummary Failed(string file, JetsamFormatError error) => new() { File = file, Error = error.Message };

    /// <summary>
    /// This summary as JSON: every field (null where the report does not say), or, for a file
    /// that could not be read, only file and error.
    /// </summary>
    public JsonNode ToJson() => Error is null
        ? JsonSerializer.SerializeToNode(this)!
        : new JsonObject { ["file"] = File, ["error"] = Error };

    /// <summary>fileBacked → file_backed, as every other key Foom prints.</summary>
    private static string SnakeCase(string name)
    {
        var builder = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                if (builder.Length > 0) builder.Append('_');
                builder.Append(char.ToLowerInvariant(c));
            }
            else builder.Append(c);
        }
        return builder.ToString();
    }
}
