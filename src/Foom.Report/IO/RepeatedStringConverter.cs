using System.Text.Json;
using System.Text.Json.Serialization;

namespace Foom.Report.IO;

/// <summary>
/// Reads the strings that repeat throughout a report — every frame names its module's uuid, and
/// the same functions and callers recur in stack after stack — as one string object each: a
/// 300 KB report has thousands of frames but a few hundred distinct names, and allocating each
/// copy afresh was a large share of what the server's ingest spent on parsing and collecting.
///
/// The strings already seen are kept per thread (no locking) and the set is dropped whole
/// once it is large, so memory stays bounded however many reports a thread reads. Long values
/// (rare, and unlikely to repeat) are read as usual.
/// </summary>
public sealed class RepeatedStringConverter : JsonConverter<string>
{
    private const int MaxPooledChars = 256;
    private const int MaxPooledStrings = 16_384;

    [ThreadStatic] private static HashSet<string>? t_seen;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String) throw new JsonException();
        var utf8Length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        // A UTF-8 value never decodes to more UTF-16 chars than it has bytes.
        if (utf8Length > MaxPooledChars) return reader.GetString();
        Span<char> chars = stackalloc char[MaxPooledChars];
        var text = chars[..reader.CopyString(chars)];
        var seen = t_seen ??= new HashSet<string>(StringComparer.Ordinal);
        if (seen.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out var known)) return known;
        if (seen.Count >= MaxPooledStrings) seen.Clear();
        var added = new string(text);
        seen.Add(added);
        return added;
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
