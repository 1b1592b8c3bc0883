namespace Foom.Server.Ingest;

/// <summary>Text cut to fit a column: never between the two halves of a surrogate pair, which would leave a lone surrogate no database encoder accepts.</summary>
public static class StoredText
{
    public static string? Clip(string? text, int maxChars)
    {
        if (text is null || text.Length <= maxChars) return text;
        var cut = char.IsHighSurrogate(text[maxChars - 1]) ? maxChars - 1 : maxChars;
        return text[..cut];
    }
}
