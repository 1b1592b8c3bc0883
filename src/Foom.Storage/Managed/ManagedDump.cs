using System.Text.Json;
using System.Text.Json.Serialization;

namespace Foom.Storage.Managed;

/// <summary>
/// managed-dump.json: what Foom read from the heap dump the .NET runtime wrote as it died
/// (docs/report-format.md, "Managed heap", "The heap at death"): the managed heap by type at that
/// instant, the exception and its stack, and the reference paths from GC roots to the biggest
/// types; or, when the dump could not be written or read, why (<see cref="Problem"/>).
/// </summary>
public sealed class ManagedDump
{
    [JsonPropertyName("format_version")] public int FormatVersion { get; set; } = ManagedFiles.CurrentFormatVersion;
    /// <summary>When the runtime wrote the dump (its file's modification time, ms since the epoch).</summary>
    [JsonPropertyName("time")] public long Time { get; set; }
    /// <summary>The dump file's size, and how long reading it took (what the report of the death costs beyond the crash report).</summary>
    [JsonPropertyName("dump_bytes")] public long DumpBytes { get; set; }
    [JsonPropertyName("read_ms")] public double ReadMilliseconds { get; set; }
    /// <summary>Where the dump is, when it was kept (<c>foom run --keep-dump</c>); null once deleted.</summary>
    [JsonPropertyName("kept_path")] public string? KeptPath { get; set; }
    /// <summary>Why the heap at death is missing or partial, one sentence naming the file; null when it was read whole.</summary>
    [JsonPropertyName("problem")] public string? Problem { get; set; }
    /// <summary>The managed heap at death by type, as a census counts it (trigger "death"); null when the dump could not be read.</summary>
    [JsonPropertyName("census")] public ManagedCensus? Census { get; set; }
    /// <summary>The exception the program died of, with its throwing stack; null when no thread had one.</summary>
    [JsonPropertyName("exception")] public ManagedDumpException? Exception { get; set; }
    /// <summary>For the biggest types, the chain of references from a GC root to one of their objects.</summary>
    [JsonPropertyName("root_paths")] public List<ManagedRootPath> RootPaths { get; set; } = [];

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class ManagedDumpException
{
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("message")] public string? Message { get; set; }
    [JsonPropertyName("hresult")] public int HResult { get; set; }
    /// <summary>The thread that threw it (the runtime's managed thread id).</summary>
    [JsonPropertyName("thread")] public int Thread { get; set; }
    /// <summary>The throwing stack's managed methods, innermost first.</summary>
    [JsonPropertyName("frames")] public List<string> Frames { get; set; } = [];
}

/// <summary>
/// How one object of a big type is kept alive: the root, then each object on the way with the
/// field (or array element) of the one before that refers to it; the last step is the object of
/// <see cref="Type"/>.
/// </summary>
public sealed class ManagedRootPath
{
    /// <summary>The type whose object the path reaches.</summary>
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    /// <summary>The kind of root: "static", "stack", "strong_handle", "pinned_handle", "finalizer_queue", …</summary>
    [JsonPropertyName("root_kind")] public string RootKind { get; set; } = "";
    /// <summary>The root by name where it has one: a static field ("Ns.Type.s_cache"), or the method whose frame holds a local.</summary>
    [JsonPropertyName("root")] public string? Root { get; set; }
    [JsonPropertyName("steps")] public List<ManagedRootStep> Steps { get; set; } = [];
}

public sealed class ManagedRootStep
{
    /// <summary>The object's type.</summary>
    [JsonPropertyName("type")] public string Type { get; set; } = "";
    /// <summary>How the step before refers to it: a field name, "[]" for an array element; null on the first step (the root's object).</summary>
    [JsonPropertyName("via")] public string? Via { get; set; }
}
