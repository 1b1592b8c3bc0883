using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Foom.Storage.Text;

/// <summary>
/// The one rule for strings in JSON that comes from outside (reports, Matrix reports, JetsamEvent
/// logs, launch records, session.json): every string, property names included, must be valid
/// UTF-8, and its escapes must decode to valid UTF-16 without NUL. A lone surrogate escape
/// ("\ud800") cannot become a .NET string that any encoder accepts, and a NUL cannot be stored in
/// PostgreSQL's text; neither is written by Foom, Matrix or iOS, so they mark a damaged or
/// hostile file, which is refused naming the field (docs/report-format.md, "Strings").
///
/// Readers call <see cref="FindBad"/> before they parse. A document whose bytes are valid UTF-8
/// and that has no \u escape of a NUL or a surrogate is passed at the cost of two vectorized
/// scans; only the rest are walked token by token to name the field.
/// </summary>
public static class JsonStrings
{
    /// <summary>
    /// The first string of <paramref name="json"/> that breaks the rule, or null when there is none
    /// (or the JSON is malformed before one: the reader's own parse then says what is wrong).
    /// <paramref name="multipleValues"/> reads values one after another (a JetsamEvent log's header line and body).
    /// </summary>
    public static BadString? FindBad(ReadOnlySpan<byte> json, bool multipleValues = false)
    {
        if (Utf8.IsValid(json) && !HasSuspectEscape(json)) return null;
        try
        {
            return Walk(json, multipleValues);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether any \uXXXX in the bytes (possibly an escaped backslash's, which the walk tells apart) is a NUL or a surrogate.</summary>
    private static bool HasSuspectEscape(ReadOnlySpan<byte> json)
    {
        var rest = json;
        int at;
        while ((at = rest.IndexOf("\\u"u8)) >= 0)
        {
            rest = rest[(at + 2)..];
            if (TryHex4(rest, out var unit) && (unit == 0 || char.IsSurrogate((char)unit))) return true;
        }
        return false;
    }

    /// <summary>Where the walk is inside one container: the current property of an object, the current index of an array.</summary>
    private struct Level
    {
        public bool IsArray;
        public int Index;
        public int NameStart;
        public int NameLength;
    }

    private static BadString? Walk(ReadOnlySpan<byte> json, bool multipleValues)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowMultipleValues = multipleValues, MaxDepth = 256 });
        var levels = new List<Level>();
        while (reader.Read())
        {
            var token = reader.TokenType;
            if (token is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                levels.RemoveAt(levels.Count - 1);
                continue;
            }
            if (token == JsonTokenType.PropertyName)
            {
                var level = levels[^1];
                level.NameStart = (int)reader.TokenStartIndex + 1;
                level.NameLength = reader.ValueSpan.Length;
                levels[^1] = level;
                if (Problem(reader.ValueSpan, reader.ValueIsEscaped) is { } nameProblem)
                    return new BadString(PathOf(json, levels, levels.Count - 1), "a property name " + nameProblem);
                continue;
            }
            if (levels.Count > 0 && levels[^1].IsArray)
            {
                var level = levels[^1];
                level.Index++;
                levels[^1] = level;
            }
            if (token == JsonTokenType.String && Problem(reader.ValueSpan, reader.ValueIsEscaped) is { } problem)
                return new BadString(PathOf(json, levels, levels.Count), problem);
            if (token is JsonTokenType.StartObject or JsonTokenType.StartArray)
                levels.Add(new Level { IsArray = token == JsonTokenType.StartArray, Index = -1 });
        }
        return null;
    }

    /// <summary>What is wrong with a string token's raw bytes, or null.</summary>
    private static string? Problem(ReadOnlySpan<byte> raw, bool escaped)
    {
        if (!Utf8.IsValid(raw)) return "is not valid UTF-8";
        if (!escaped) return null;
        for (var i = 0; i < raw.Length - 1; i++)
        {
            if (raw[i] != '\\') continue;
            i++;
            if (raw[i] != 'u' || !TryHex4(raw[(i + 1)..], out var unit)) continue;
            i += 4;
            if (unit == 0) return "holds a NUL character (\\u0000)";
            if (char.IsLowSurrogate((char)unit)) return $"holds a lone UTF-16 surrogate (\\u{unit:x4})";
            if (!char.IsHighSurrogate((char)unit)) continue;
            var next = raw[(i + 1)..];
            if (next.Length < 6 || next[0] != '\\' || next[1] != 'u' || !TryHex4(next[2..], out var low) || !char.IsLowSurrogate((char)low))
                return $"holds a lone UTF-16 surrogate (\\u{unit:x4})";
            i += 6;
        }
        return null;
    }

    private static bool TryHex4(ReadOnlySpan<byte> text, out int value)
    {
        value = 0;
        if (text.Length < 4) return false;
        for (var i = 0; i < 4; i++)
        {
            var digit = HexDigit(text[i]);
            if (digit < 0) return false;
            value = value << 4 | digit;
        }
        return true;
    }

    private static int HexDigit(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>The path of the current value of the first <paramref name="depth"/> levels: head.modules[2].name.</summary>
    private static string PathOf(ReadOnlySpan<byte> json, List<Level> levels, int depth)
    {
        var path = new StringBuilder();
        for (var i = 0; i < depth; i++)
        {
            var level = levels[i];
            if (level.IsArray) path.Append('[').Append(level.Index).Append(']');
            else
            {
                if (path.Length > 0) path.Append('.');
                // A name is shown as written (escapes and all); a broken one is what the message is about.
                path.Append(Encoding.UTF8.GetString(json.Slice(level.NameStart, level.NameLength)));
            }
        }
        return path.Length == 0 ? "(the top level)" : path.ToString();
    }
}
