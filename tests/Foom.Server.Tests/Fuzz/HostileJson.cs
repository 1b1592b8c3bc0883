using System.Text;
using System.Text.Json;
using CsCheck;

namespace Foom.Server.Tests.Fuzz;

/// <summary>
/// Mutations of a valid JSON document, as a CsCheck generator: a string or property name
/// replaced by hostile text (lone surrogate escapes, NUL, escaped pairs, quotes, backslashes,
/// control characters, long runs), a value replaced by one of another type or out of range, a
/// span deleted or repeated, a byte changed, the document cut short, or raw bytes that are not
/// UTF-8 put inside a string. The mutations keep most of the document intact, so they reach
/// the checks behind the JSON syntax, where whole random bytes never get.
/// </summary>
public sealed class HostileJson
{
    private static readonly string[] StringPieces =
        [@"\ud800", @"\udc00", @"\udbff\u0041", @"\u0000", @"\ud83d\udca5", "💥", @"\""", @"\\", "a", @"\u0001", @"\t", "ü", "<b>", "../", "%00", new string('x', 300), ""];

    private static readonly string[] OtherValues =
        ["-1", "0", "1e400", "-9223372036854775809", "18446744073709551616", "1.5", "null", "true", "[]", "{}", "\"\"", "\"0x10\"", "[[[[[[[[1]]]]]]]]", "\"298\"", "4096"];

    private readonly byte[] _seed;
    private readonly List<(int Start, int Length)> _strings = [];
    private readonly List<(int Start, int Length)> _values = [];

    public HostileJson(byte[] seed)
    {
        _seed = seed;
        var reader = new Utf8JsonReader(seed, new JsonReaderOptions { AllowMultipleValues = true, MaxDepth = 256 });
        while (reader.Read())
        {
            var start = (int)reader.TokenStartIndex;
            switch (reader.TokenType)
            {
                case JsonTokenType.String or JsonTokenType.PropertyName:
                    _strings.Add((start, reader.ValueSpan.Length + 2));
                    if (reader.TokenType == JsonTokenType.String) _values.Add((start, reader.ValueSpan.Length + 2));
                    break;
                case JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null:
                    _values.Add((start, reader.ValueSpan.Length));
                    break;
            }
        }
        if (_strings.Count == 0 || _values.Count == 0) throw new ArgumentException("the seed document has no strings or values to mutate");
    }

    private static readonly Gen<string> HostileString =
        Gen.Int[0, StringPieces.Length - 1].Array[1, 4].Select(pieces => "\"" + string.Concat(pieces.Select(p => StringPieces[p])) + "\"");

    /// <summary>One mutated document per sample.</summary>
    public Gen<byte[]> Documents => Gen.Frequency(
        (5, Gen.Select(Gen.Int[0, _strings.Count - 1], HostileString, (token, text) => Replace(_strings[token], Encoding.UTF8.GetBytes(text)))),
        (3, Gen.Select(Gen.Int[0, _values.Count - 1], Gen.Int[0, OtherValues.Length - 1], (token, value) => Replace(_values[token], Encoding.UTF8.GetBytes(OtherValues[value])))),
        (1, Gen.Select(Gen.Int[0, _strings.Count - 1], Gen.Int[0x80, 0xff], (token, b) => Insert(_strings[token].Start + 1, [(byte)b]))),
        (1, Gen.Select(Gen.Int[0, _seed.Length - 1], Gen.Int[1, 200], (start, length) => Replace((start, Math.Min(length, _seed.Length - start)), []))),
        (1, Gen.Select(Gen.Int[0, _seed.Length - 1], Gen.Int[1, 200], Gen.Int[0, _seed.Length], (start, length, at) => Insert(at, _seed.AsSpan(start, Math.Min(length, _seed.Length - start)).ToArray()))),
        (1, Gen.Select(Gen.Int[0, _seed.Length - 1], Gen.Byte, (at, value) => Replace((at, 1), [value]))),
        (1, Gen.Int[0, _seed.Length - 1].Select(length => _seed[..length])));

    private byte[] Replace((int Start, int Length) span, byte[] with) =>
        [.. _seed.AsSpan(0, span.Start), .. with, .. _seed.AsSpan(span.Start + span.Length)];

    private byte[] Insert(int at, byte[] bytes) => [.. _seed.AsSpan(0, at), .. bytes, .. _seed.AsSpan(at)];

    /// <summary>Cases per parser: FOOM_FUZZ_CASES, else 1000 (the suite's; docs/reliability.md has the 10 000-case runs).</summary>
    public static int Cases => int.TryParse(Environment.GetEnvironmentVariable("FOOM_FUZZ_CASES"), out var cases) && cases > 0 ? cases : 1000;
}
