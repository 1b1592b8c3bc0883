using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Foom.Storage.Text;

namespace Foom.Ios.Jetsam;

/// <summary>
/// Reads iOS JetsamEvent reports of every vintage: a one-line JSON header followed by a
/// pretty-printed JSON body (iOS 9.3 to 18), or the body alone (as some tools and the
/// Settings › Analytics share sheet hand it over). Field names follow XNU and differ a little
/// between versions; anything this parser does not interpret is ignored, anything it does
/// interpret must have the right type, or the report is rejected with a
/// <see cref="JetsamFormatError"/> naming the field.
/// </summary>
public static class JetsamParser
{
    /// <summary>The bug_type of JetsamEvent reports; other .ips files (crashes, 211 analytics) use other numbers.</summary>
    public const string JetsamBugType = "298";

    /// <summary>Reports are a few hundred KiB; anything beyond this is not one (and must not exhaust memory).</summary>
    public const int DefaultMaxBytes = 64 << 20;

    public static JetsamParseResult Parse(string text) => Parse(Encoding.UTF8.GetBytes(text));

    /// <summary>Reads at most <paramref name="maxBytes"/> from <paramref name="stream"/> and parses them.</summary>
    public static JetsamParseResult Parse(Stream stream, int maxBytes = DefaultMaxBytes)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > maxBytes)
                return JetsamParseResult.Fail(new JetsamFormatError(
                    $"larger than {maxBytes / (1 << 20)} MiB: not a JetsamEvent report (they are a few hundred KiB)"));
            buffer.Write(chunk, 0, read);
        }
        return Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    public static JetsamParseResult Parse(ReadOnlySpan<byte> utf8)
    {
        if (utf8.StartsWith("\uFEFF"u8)) utf8 = utf8[3..];
        if (utf8.Trim(" \t\r\n"u8).IsEmpty)
            return JetsamParseResult.Fail(new JetsamFormatError("the file is empty"));
        // The JSON reader checks structure, not the bytes inside strings; reports are UTF-8 throughout.
        if (!Utf8.IsValid(utf8))
        {
            var offset = FirstInvalidUtf8(utf8);
            var line = LineOf(utf8, offset);
            return JetsamParseResult.Fail(new JetsamFormatError(
                $"not UTF-8 text: invalid byte at offset {offset} (line {line}); a JetsamEvent report is JSON", Line: line));
        }

        if (JsonStrings.FindBad(utf8, multipleValues: true) is { } bad)
            return JetsamParseResult.Fail(new JetsamFormatError(bad.ToString(), bad.Field));

        JsonDocument? first = null, second = null;
        string? part = null; // which document was being read, for the error message
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { AllowMultipleValues = true, MaxDepth = 64 });
            first = JsonDocument.ParseValue(ref reader);
            var firstIsBody = LooksLikeBody(first.RootElement);
            part = firstIsBody ? "the content after the report body" : "the report body";
            if (reader.Read())
            {
                if (firstIsBody) return ExtraContent(utf8, reader.TokenStartIndex);
                second = JsonDocument.ParseValue(ref reader);
                part = "the content after the report body";
                if (reader.Read()) return ExtraContent(utf8, reader.TokenStartIndex);
            }

            if (firstIsBody) return Interpret(header: null, body: first.RootElement);
            if (first.RootElement.ValueKind != JsonValueKind.Object)
                return JetsamParseResult.Fail(new JetsamFormatError(
                    $"the first line is a JSON {Describe(first.RootElement.ValueKind)}, not the report's header object", Line: 1));
            if (second is null)
            {
                var bugType = ReadBugType(first.RootElement);
                if (bugType is not null && bugType != JetsamBugType)
                    return JetsamParseResult.Fail(NotJetsam(bugType));
                return JetsamParseResult.Fail(new JetsamFormatError(
                    "only the one-line header is there: the report body (memoryStatus, processes) is missing; the file looks truncated"));
            }
            return Interpret(first.RootElement, second.RootElement);
        }
        catch (JsonException problem)
        {
            var line = problem.LineNumber + 1;
            part ??= line == 1 ? "the header line" : "the report";
            return JetsamParseResult.Fail(new JetsamFormatError(
                DescribeJsonProblem(problem, utf8, $"in {part} at line {line}"), Line: line));
        }
        catch (FieldException problem)
        {
            return JetsamParseResult.Fail(new JetsamFormatError($"{problem.Field}: {problem.Message}", problem.Field));
        }
        finally
        {
            first?.Dispose();
            second?.Dispose();
        }
    }

    private static bool LooksLikeBody(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object
        && (element.TryGetProperty("processes", out _) || element.TryGetProperty("memoryStatus", out _));

    private static JetsamParseResult Interpret(JsonElement? header, JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
            return JetsamParseResult.Fail(new JetsamFormatError(
                $"the report body is a JSON {Describe(body.ValueKind)}, not an object"));

        var bugType = (header is { } h ? ReadBugType(h) : null) ?? ReadBugType(body);
        if (bugType is not null && bugType != JetsamBugType) return JetsamParseResult.Fail(NotJetsam(bugType));

        if (!body.TryGetProperty("memoryStatus", out var memoryStatus))
            throw new FieldException("memoryStatus", "is missing: without it the page size, and so every footprint, is unknown");
        if (memoryStatus.ValueKind != JsonValueKind.Object)
            throw new FieldException("memoryStatus", $"is a {Describe(memoryStatus.ValueKind)}, expected an object");
        var pageSize = RequiredInteger(memoryStatus, "pageSize", "memoryStatus.pageSize");
        if (pageSize is <= 0 or > 1 << 30)
            throw new FieldException("memoryStatus.pageSize", $"is {pageSize}, not a page size");

        var pages = new Dictionary<string, long>(StringComparer.Ordinal);
        if (memoryStatus.TryGetProperty("memoryPages", out var memoryPages))
        {
            if (memoryPages.ValueKind != JsonValueKind.Object)
                throw new FieldException("memoryStatus.memoryPages", $"is a {Describe(memoryPages.ValueKind)}, expected an object");
            foreach (var kind in memoryPages.EnumerateObject())
                if (kind.Value.ValueKind == JsonValueKind.Number && kind.Value.TryGetInt64(out var count))
                    pages[kind.Name] = count;
        }

        if (!body.TryGetProperty("processes", out var processList))
            throw new FieldException("processes", "is missing: the report lists no processes");
        if (processList.ValueKind != JsonValueKind.Array)
            throw new FieldException("processes", $"is a {Describe(processList.ValueKind)}, expected an array");

        var processes = new List<JetsamProcess>(processList.GetArrayLength());
        var index = 0;
        foreach (var entry in processList.EnumerateArray())
            processes.Add(ReadProcess(entry, $"processes[{index++}]", pageSize));

        var date = OptionalString(body, "date", "date") ?? (header is { } hd ? OptionalString(hd, "timestamp", "timestamp") : null);
        return JetsamParseResult.Success(new JetsamEvent
        {
            BugType = bugType,
            OsVersion = (header is { } ho ? OptionalString(ho, "os_version", "os_version") : null) ?? OptionalString(body, "build", "build"),
            Product = OptionalString(body, "product", "product"),
            Incident = OptionalString(body, "incident", "incident") ?? (header is { } hi ? OptionalString(hi, "incident_id", "incident_id") : null),
            Date = date,
            Time = ParseTimestamp(date),
            PageSize = pageSize,
            LargestProcess = OptionalString(body, "largestProcess", "largestProcess"),
            MemoryPages = pages,
            CompressorPages = OptionalInteger(memoryStatus, "compressorSize", "memoryStatus.compressorSize"),
            Processes = processes,
        });
    }

    private static JetsamProcess ReadProcess(JsonElement entry, string where, long pageSize)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw new FieldException(where, $"is a {Describe(entry.ValueKind)}, expected a process object");
        var name = OptionalString(entry, "name", where + ".name") ?? throw new FieldException(where + ".name", "is missing");
        var reason = OptionalString(entry, "reason", where + ".reason");
        var rpages = OptionalInteger(entry, "rpages", where + ".rpages");
        if (reason is not null && rpages is null)
            throw new FieldException(where + ".rpages", $"is missing for the killed process {name}: its footprint is unknown");
        var lifetimeMax = OptionalInteger(entry, "lifetimeMax", where + ".lifetimeMax");
        CheckPageCount(rpages, pageSize, where + ".rpages");
        CheckPageCount(lifetimeMax, pageSize, where + ".lifetimeMax");
        var pid = OptionalInteger(entry, "pid", where + ".pid");
        if (pid is < 0 or > int.MaxValue) throw new FieldException(where + ".pid", $"is {pid}, not a process id");
        var priority = OptionalInteger(entry, "priority", where + ".priority");

        var states = new List<string>();
        if (entry.TryGetProperty("states", out var stateList))
        {
            if (stateList.ValueKind != JsonValueKind.Array)
                throw new FieldException(where + ".states", $"is a {Describe(stateList.ValueKind)}, expected an array of strings");
            foreach (var state in stateList.EnumerateArray())
            {
                if (state.ValueKind != JsonValueKind.String)
                    throw new FieldException(where + ".states", $"holds a {Describe(state.ValueKind)}, expected strings");
                states.Add(state.GetString()!);
            }
        }

        var footprint = rpages * pageSize;
        return new JetsamProcess
        {
            Name = name,
            Pid = (int?)pid,
            Uuid = OptionalString(entry, "uuid", where + ".uuid"),
            States = states,
            Rpages = rpages,
            LifetimeMaxPages = lifetimeMax,
            Priority = priority is >= int.MinValue and <= int.MaxValue ? (int)priority : null,
            Reason = reason,
            FootprintBytes = footprint,
            LifetimeMaxBytes = lifetimeMax * pageSize,
            LimitBytes = JetsamReasons.RevealsLimit(reason) ? footprint : null,
        };
    }

    /// <summary>A page count must be one whose bytes fit in a long: no device has 8 EiB.</summary>
    private static void CheckPageCount(long? pages, long pageSize, string field)
    {
        if (pages is < 0 || pages > long.MaxValue / pageSize)
            throw new FieldException(field, $"is {pages}, not a page count");
    }

    /// <summary>bug_type is a string in every real report; a number is accepted too.</summary>
    private static string? ReadBugType(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty("bug_type", out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => throw new FieldException("bug_type", $"is a {Describe(value.ValueKind)}, expected a string such as \"298\""),
            }
            : null;

    private static JetsamFormatError NotJetsam(string bugType) => new(
        $"bug_type {bugType} is not a JetsamEvent report (those are bug_type {JetsamBugType}); " +
        (bugType == "211" ? "211 is an analytics log" : bugType is "109" or "309" ? "it is a crash report" : "it is another kind of diagnostic report"),
        "bug_type");

    private static string? OptionalString(JsonElement element, string property, string field)
    {
        if (!element.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String)
            throw new FieldException(field, $"is a {Describe(value.ValueKind)}, expected a string");
        return value.GetString();
    }


    private static long RequiredInteger(JsonElement element, string property, string field) =>
        OptionalInteger(element, property, field) ?? throw new FieldException(field, "is missing");

    private static long? OptionalInteger(JsonElement element, string property, string field)
    {
        if (!element.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number)
            throw new FieldException(field, $"is a {Describe(value.ValueKind)} ({Shorten(value.GetRawText())}), expected a whole number");
        if (value.TryGetInt64(out var whole)) return whole;
        // Some writers emit whole numbers as 1234.0; anything with a fraction is not a count.
        if (value.TryGetDouble(out var real) && real == Math.Floor(real) && Math.Abs(real) < 9e15) return (long)real;
        throw new FieldException(field, $"is {Shorten(value.GetRawText())}, expected a whole number");
    }

    /// <summary>"2019-08-05 17:06:39.78 -0500", the format of both date and timestamp.</summary>
    public static DateTimeOffset? ParseTimestamp(string? text)
    {
        if (text is null) return null;
        string[] formats = ["yyyy-MM-dd HH:mm:ss.ff zzz", "yyyy-MM-dd HH:mm:ss zzz", "yyyy-MM-dd HH:mm:ss.fff zzz"];
        // .NET wants the offset as -05:00; the reports write -0500.
        var normalized = text.Length > 5 && (text[^5] is '+' or '-') ? text[..^2] + ":" + text[^2..] : text;
        return DateTimeOffset.TryParseExact(normalized, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? time : null;
    }

    private static string DescribeJsonProblem(JsonException problem, ReadOnlySpan<byte> utf8, string where)
    {
        // System.Text.Json appends its own "LineNumber: n | BytePositionInLine: m." to the message.
        var message = problem.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut].TrimEnd('.', ' ');
        var lastLine = 1 + utf8.TrimEnd(" \t\r\n"u8).Count((byte)'\n');
        var atTheEnd = problem.LineNumber + 1 >= lastLine && message.Contains("end of", StringComparison.OrdinalIgnoreCase)
                       || message.Contains("depth to be zero", StringComparison.Ordinal);
        return atTheEnd
            ? $"truncated {where}: the JSON ends before it is closed"
            : $"malformed JSON {where}: {message}";
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> utf8)
    {
        var offset = 0;
        while (offset < utf8.Length)
        {
            if (Rune.DecodeFromUtf8(utf8[offset..], out _, out var length) != System.Buffers.OperationStatus.Done) return offset;
            offset += length;
        }
        return offset;
    }

    private static JetsamParseResult ExtraContent(ReadOnlySpan<byte> utf8, long offset)
    {
        var line = LineOf(utf8, offset);
        return JetsamParseResult.Fail(new JetsamFormatError(
            $"unexpected content after the report body at line {line}: one report per file", Line: line));
    }

    private static long LineOf(ReadOnlySpan<byte> utf8, long offset) =>
        1 + utf8[..(int)Math.Min(offset, utf8.Length)].Count((byte)'\n');

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private sealed class FieldException(string field, string message) : Exception(message)
    {
        public string Field { get; } = field;
    }
}

/// <summary>What is wrong with a report that could not be read, in words for the person who gave it.</summary>
/// <param name="Message">What is wrong, naming the field or line.</param>
/// <param name="Field">The JSON path of the offending field, when one is to blame.</param>
/// <param name="Line">The 1-based line, when the JSON itself is broken.</param>
public sealed record JetsamFormatError(string Message, string? Field = null, long? Line = null)
{
    public override string ToString() => Message;
}

/// <summary>Either the parsed report or why it could not be read.</summary>
public sealed class JetsamParseResult
{
    private JetsamParseResult(JetsamEvent? parsed, JetsamFormatError? error) => (Event, Error) = (parsed, error);

    public JetsamEvent? Event { get; }

    public JetsamFormatError? Error { get; }

    [MemberNotNullWhen(true, nameof(Event))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Succeeded => Event is not null;

    internal static JetsamParseResult Success(JetsamEvent parsed) => new(parsed, null);

    internal static JetsamParseResult Fail(JetsamFormatError error) => new(null, error);
}
