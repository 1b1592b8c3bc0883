namespace Foom.Symbols;

/// <summary>
/// One spelling for build-ids and UUIDs everywhere: lower-case hex without dashes or braces, so
/// "4C4C441E-5555-3144-A10B-AAF18E030C8E" (as iOS prints an LC_UUID) and
/// "4c4c441e55553144a10baaf18e030c8e" are the same key, and a GNU build-id stays as
/// <c>readelf -n</c> prints it.
/// </summary>
public static class BuildIds
{
    /// <summary>Longest id accepted (a GNU build-id is 20 bytes with SHA-1, up to 64 with other hashes).</summary>
    public const int MaxHexDigits = 128;

    /// <summary>The normalized id, or null when <paramref name="id"/> is empty or not hex.</summary>
    public static string? Normalize(string? id)
    {
        if (string.IsNullOrWhiteSpace(id)) return null;
        Span<char> buffer = stackalloc char[MaxHexDigits];
        var length = 0;
        foreach (var c in id.AsSpan().Trim().Trim("{}"))
        {
            if (c == '-') continue;
            if (!char.IsAsciiHexDigit(c) || length == MaxHexDigits) return null;
            buffer[length++] = char.ToLowerInvariant(c);
        }
        return length >= 2 && length % 2 == 0 ? new string(buffer[..length]) : null;
    }
}
