using System.Text.Json;

namespace Foom.Managed;

/// <summary>
/// The crash report the .NET runtime writes when it dies of an unhandled exception or a fatal
/// signal (createdump with <c>DOTNET_EnableCrashReport</c> or <c>DOTNET_EnableCrashReportOnly</c>:
/// <c>NAME.crashreport.json</c> beside the dump name): the crashed thread's managed exception type
/// and its stack, innermost first, with the runtime's native frames left out.
/// </summary>
public sealed record DotnetCrashReport(string Path, string? ExceptionType, string? HResult, IReadOnlyList<string> ManagedFrames)
{
    public const string FileSuffix = ".crashreport.json";

    /// <summary>Whether the crash was an OutOfMemoryException (or InsufficientMemoryException, which derives from it).</summary>
    public bool IsOutOfMemory => ExceptionType is "System.OutOfMemoryException" or "System.InsufficientMemoryException";

    /// <summary>The newest crash report in <paramref name="directory"/> named NAME.PID.crashreport.json, or null.</summary>
    public static string? Find(string directory, string prefix)
    {
        try
        {
            return Directory.EnumerateFiles(directory, prefix + "*" + FileSuffix).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault();
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Reads a crash report; a truncated or unreadable one is a <see cref="CrashReportException"/> naming the file and what was wrong.</summary>
    public static DotnetCrashReport Read(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!document.RootElement.TryGetProperty("payload", out var payload) || !payload.TryGetProperty("threads", out var threads)
                || threads.ValueKind != JsonValueKind.Array)
                throw new CrashReportException($"{path} has no payload.threads: not a .NET crash report");
            foreach (var thread in threads.EnumerateArray())
            {
                if (Text(thread, "crashed") != "true") continue;
                var frames = new List<string>();
                if (thread.TryGetProperty("stack_frames", out var stack) && stack.ValueKind == JsonValueKind.Array)
                {
                    foreach (var frame in stack.EnumerateArray())
                        if (Text(frame, "is_managed") == "true" && Text(frame, "method_name") is { Length: > 0 } method) frames.Add(method);
                }
                return new DotnetCrashReport(path, Text(thread, "managed_exception_type"), Text(thread, "managed_exception_hresult"), frames);
            }
            return new DotnetCrashReport(path, null, null, []);
        }
        catch (JsonException problem)
        {
            throw new CrashReportException($"{path} is not valid JSON (truncated?): line {problem.LineNumber + 1}", problem);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            throw new CrashReportException($"{path} cannot be read: {problem.Message}", problem);
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
