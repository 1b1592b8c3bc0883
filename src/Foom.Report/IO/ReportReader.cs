using System.Globalization;
using System.IO.Compression;
using System.Text.Json;

using Foom.Report.Model;

namespace Foom.Report.IO;

/// <summary>
/// Reads a report: Foom's own, or a Matrix memstat report from an iOS app (gzip'ed or not).
/// The JSON is checked before it is trusted, and anything wrong is a
/// <see cref="ReportFormatException"/> naming the file and the field: a truncated file, another
/// protocol version, a missing or mistyped field, a Foom report whose categories do not add up
/// to its live totals. A report is never returned partly read.
/// </summary>
public static class ReportReader
{
    public const int SupportedProtocolVersion = 1;

    /// <summary>Reports bigger than this (after gzip) are refused rather than read into memory.</summary>
    public const long MaxReportBytes = 512L * 1024 * 1024;

    public static Model.Report Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ReportFormatException(path, "", $"cannot read the file: {e.Message}", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses report bytes; <paramref name="source"/> names them in errors.</summary>
    public static Model.Report Parse(ReadOnlySpan<byte> bytes, string source)
    {
        var json = IsGzip(bytes) ? Gunzip(bytes, source) : bytes.ToArray();
        if (json.Length == 0) throw new ReportFormatException(source, "", "the file is empty");
        if (Foom.Storage.Text.JsonStrings.FindBad(json) is { } bad) throw new ReportFormatException(source, bad.Field, bad.Problem);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new ReportFormatException(source, e.Path ?? "",
                $"not valid JSON (truncated or corrupt) at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {Shorten(e.Message)}", e);
        }
        using (document)
        {
            Validate(document.RootElement, source);
            try
            {
                var report = document.RootElement.Deserialize(ReportJson.TypeInfo<Model.Report>(ReportJson.Compact))
                    ?? throw new ReportFormatException(source, "", "the report is null");
                // Matrix reports carry no totals in the head: they are the sums of the items.
                var head = document.RootElement.GetProperty("head");
                if (!head.TryGetProperty("live_bytes", out _)) report.Head.LiveBytes = report.Items.Where(i => !i.IsManaged).Sum(i => i.Size);
                if (!head.TryGetProperty("live_count", out _)) report.Head.LiveCount = report.Items.Where(i => !i.IsManaged).Sum(i => i.Count);
                return report;
            }
            catch (JsonException e)
            {
                throw new ReportFormatException(source, e.Path ?? "", Shorten(e.Message), e);
            }
        }
    }

    /// <summary>System.Text.Json quotes the offending text whole, which for a report can be megabytes.</summary>
    private static string Shorten(string message) => message.Length <= 200 ? message : message[..200] + "...";

    private static bool IsGzip(ReadOnlySpan<byte> bytes) => bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;

    private static byte[] Gunzip(ReadOnlySpan<byte> bytes, string source)
    {
        try
        {
            using var input = new GZipStream(new MemoryStream(bytes.ToArray()), CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = input.Read(buffer)) > 0)
            {
                if (output.Length + read > MaxReportBytes)
                    throw new ReportFormatException(source, "", $"unpacks to more than {MaxReportBytes} bytes");
                output.Write(buffer, 0, read);
            }
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new ReportFormatException(source, "", $"not valid gzip (truncated or corrupt): {e.Message}", e);
        }
    }

    private static void Validate(JsonElement root, string source)
    {
        var check = new Checker(source);
        check.Object(root, "");
        var head = check.Required(root, "head", "", JsonValueKind.Object);
        var version = check.Required(head, "protocol_ver", "head", JsonValueKind.Number);
        if (!version.TryGetInt32(out var protocol) || protocol != SupportedProtocolVersion)
            throw new ReportFormatException(source, "head.protocol_ver",
                $"is {version.GetRawText()}; this Foom reads protocol version {SupportedProtocolVersion}");

        var isFoom = head.TryGetProperty("platform", out var platform) && platform.ValueKind == JsonValueKind.String
                     && platform.GetString() == "linux";
        if (isFoom)
        {
            check.Required(head, "report_id", "head", JsonValueKind.String);
            check.Required(root, "modules", "", JsonValueKind.Array);
        }
        check.Optional(head, "live_bytes", "head", JsonValueKind.Number);
        check.Optional(head, "live_count", "head", JsonValueKind.Number);
        check.Optional(head, "exit_evidence", "head", JsonValueKind.Array);
        check.Optional(head, "footprint_samples", "head", JsonValueKind.Array);

        if (root.TryGetProperty("modules", out var modules) && modules.ValueKind != JsonValueKind.Null)
        {
            check.Kind(modules, "modules", JsonValueKind.Array);
            var m = 0;
            foreach (var module in modules.EnumerateArray())
            {
                var at = $"modules[{m++}]";
                check.Object(module, at);
                check.Required(module, "uuid", at, JsonValueKind.String);
                check.Optional(module, "base", at, JsonValueKind.Number);
                check.Optional(module, "size", at, JsonValueKind.Number);
            }
        }

        var items = check.Required(root, "items", "", JsonValueKind.Array);
        long size = 0, count = 0, managedSize = 0, managedCount = 0, managedItems = 0, estimatedItems = 0;
        var i = 0;
        foreach (var item in items.EnumerateArray())
        {
            var at = $"items[{i++}]";
            check.Object(item, at);
            check.Required(item, "name", at, JsonValueKind.String);
            check.Optional(item, "heap", at, JsonValueKind.String);
            // A managed census's type is counted beside the native blocks, not among them.
            var managed = item.TryGetProperty("heap", out var heap) && heap.ValueKind == JsonValueKind.String && heap.GetString() == ReportItem.ManagedHeapName;
            if (managed)
            {
                managedItems++;
                if (item.TryGetProperty("size_measure", out var measure) && measure.ValueKind == JsonValueKind.String
                    && measure.GetString() == ReportItem.AllocatedEstimateMeasure) estimatedItems++;
                managedSize = checked(managedSize + check.Count(item, "size", at));
                managedCount = checked(managedCount + check.Count(item, "count", at));
            }
            else
            {
                size = checked(size + check.Count(item, "size", at));
                count = checked(count + check.Count(item, "count", at));
            }
            if (!item.TryGetProperty("stacks", out var stacks) || stacks.ValueKind == JsonValueKind.Null) continue;
            check.Kind(stacks, at + ".stacks", JsonValueKind.Array);
            var s = 0;
            foreach (var stack in stacks.EnumerateArray())
            {
                var stackAt = $"{at}.stacks[{s++}]";
                check.Object(stack, stackAt);
                check.Count(stack, "size", stackAt);
                check.Count(stack, "count", stackAt);
                check.Optional(stack, "caller", stackAt, JsonValueKind.String);
                var frames = check.Required(stack, "frames", stackAt, JsonValueKind.Array);
                var f = 0;
                foreach (var frame in frames.EnumerateArray())
                {
                    var frameAt = $"{stackAt}.frames[{f++}]";
                    check.Object(frame, frameAt);
                    check.Required(frame, "uuid", frameAt, JsonValueKind.String);
                    if (!frame.TryGetProperty("offset", out var offset))
                        throw new ReportFormatException(source, frameAt + ".offset", "is missing");
                    if (!OffsetConverter.TryRead(offset, out _))
                        throw new ReportFormatException(source, frameAt + ".offset", $"is {offset.GetRawText()}, not an unsigned offset");
                }
            }
        }

        // A Foom report's categories hold every live block: if they do not add up, the file was
        // cut or edited, and showing it would present a part as the whole.
        if (isFoom)
        {
            var liveBytes = check.Count(head, "live_bytes", "head");
            var liveCount = check.Count(head, "live_count", "head");
            if (size != liveBytes)
                throw new ReportFormatException(source, "head.live_bytes", $"is {liveBytes} but the items' sizes add up to {size}");
            if (count != liveCount)
                throw new ReportFormatException(source, "head.live_count", $"is {liveCount} but the items' counts add up to {count}");
        }

        // The managed items are the census's types: they add up to its totals.
        // Without a census they are all estimates from allocation samples, which add up to nothing counted.
        if (managedItems > 0 && estimatedItems > 0 && estimatedItems != managedItems)
            throw new ReportFormatException(source, "items", $"mix {estimatedItems} managed items estimated from samples with {managedItems - estimatedItems} census types");
        if (managedItems > 0 && estimatedItems == 0)
        {
            if (!head.TryGetProperty("managed", out var managedHead) || managedHead.ValueKind != JsonValueKind.Object
                || !managedHead.TryGetProperty("census", out var census) || census.ValueKind != JsonValueKind.Object)
                throw new ReportFormatException(source, "head.managed.census", $"is missing, but {managedItems} items are managed census types");
            var censusBytes = check.Count(census, "bytes", "head.managed.census");
            var censusCount = check.Count(census, "count", "head.managed.census");
            if (managedSize != censusBytes)
                throw new ReportFormatException(source, "head.managed.census.bytes", $"is {censusBytes} but the managed items' sizes add up to {managedSize}");
            if (managedCount != censusCount)
                throw new ReportFormatException(source, "head.managed.census.count", $"is {censusCount} but the managed items' counts add up to {managedCount}");
        }
    }

    private sealed class Checker(string source)
    {
        public void Object(JsonElement element, string at) => Kind(element, at.Length == 0 ? "(the top level)" : at, JsonValueKind.Object);

        public void Kind(JsonElement element, string at, JsonValueKind kind)
        {
            if (element.ValueKind != kind)
                throw new ReportFormatException(source, at, $"is {Describe(element)}, expected {Describe(kind)}");
        }

        public JsonElement Required(JsonElement parent, string name, string at, JsonValueKind kind)
        {
            var path = at.Length == 0 ? name : at + "." + name;
            if (!parent.TryGetProperty(name, out var value))
                throw new ReportFormatException(source, path, "is missing");
            Kind(value, path, kind);
            return value;
        }

        public void Optional(JsonElement parent, string name, string at, JsonValueKind kind)
        {
            if (parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
                Kind(value, at.Length == 0 ? name : at + "." + name, kind);
        }

        /// <summary>A required non-negative integer (a size or a count).</summary>
        public long Count(JsonElement parent, string name, string at)
        {
            var value = Required(parent, name, at, JsonValueKind.Number);
            if (!value.TryGetInt64(out var number) || number < 0)
                throw new ReportFormatException(source, at + "." + name, $"is {value.GetRawText()}, expected a non-negative integer");
            return number;
        }

        private static string Describe(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.String => $"the string \"{Shorten(element.GetString())}\"",
            JsonValueKind.Number => $"the number {element.GetRawText()}",
            _ => Describe(element.ValueKind),
        };

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            _ => kind.ToString(),
        };

        private static string Shorten(string? text) => text is null ? "" : text.Length <= 40 ? text : text[..40] + "...";
    }
}

/// <summary>
/// Frame offsets are numbers in Foom's and Matrix's reports; some Matrix ports write them as
/// strings (decimal or 0x-hex). Both are read; numbers are written.
/// </summary>
public sealed class OffsetConverter : System.Text.Json.Serialization.JsonConverter<ulong>
{
    public static bool TryRead(JsonElement element, out ulong value)
    {
        value = 0;
        return element.ValueKind switch
        {
            JsonValueKind.Number => element.TryGetUInt64(out value),
            JsonValueKind.String => TryParse(element.GetString(), out value),
            _ => false,
        };
    }

    private static bool TryParse(string? text, out ulong value)
    {
        value = 0;
        if (string.IsNullOrEmpty(text)) return false;
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    public override ulong Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetUInt64(out var number)) return number;
        if (reader.TokenType == JsonTokenType.String && TryParse(reader.GetString(), out var parsed)) return parsed;
        throw new JsonException("an offset must be an unsigned number or a decimal or 0x-hex string");
    }

    public override void Write(Utf8JsonWriter writer, ulong value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}
