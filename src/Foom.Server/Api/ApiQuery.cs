using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Foom.Server.Api;

/// <summary>
/// The read API's query parameters, checked by hand so that every wrong one gets a problem
/// naming it (model binding answers a bad int with an empty 400): unknown names, repeated
/// names, numbers out of range, texts too long.
/// </summary>
public static class ApiQuery
{
    public static void Allow(HttpContext context, params string[] names)
    {
        foreach (var (name, values) in context.Request.Query)
        {
            if (!names.Contains(name, StringComparer.Ordinal))
                throw new ApiProblemException(400, names.Length == 0
                    ? $"unknown query parameter '{Short(name)}': this endpoint takes none"
                    : $"unknown query parameter '{Short(name)}': this endpoint takes {string.Join(", ", names)}");
            if (values.Count > 1) throw new ApiProblemException(400, $"query parameter '{name}' is given {values.Count} times");
        }
    }

    public static int Int(string? text, string name, int min, int max, int fallback)
    {
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new ApiProblemException(400, $"query parameter '{name}' is '{Short(text)}': give a whole number from {min} to {max}");
        return value;
    }

    public static bool Bool(string? text, string name) => text switch
    {
        null or "false" or "0" => false,
        "true" or "1" => true,
        _ => throw new ApiProblemException(400, $"query parameter '{name}' is '{Short(text)}': give true or false"),
    };

    public static string? Text(string? text, string name, int maxLength = 256)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (text.Length > maxLength || text.Any(char.IsControl))
            throw new ApiProblemException(400, $"query parameter '{name}' is longer than {maxLength} characters or has control characters");
        return text.Trim();
    }

    public static string? OneOf(string? text, string name, IReadOnlyList<string> allowed)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (!allowed.Contains(text, StringComparer.Ordinal))
            throw new ApiProblemException(400, $"query parameter '{name}' is '{Short(text)}': give one of {string.Join(", ", allowed)}");
        return text;
    }

    public static string Short(string text) => text.Length <= 60 ? text : text[..60] + "...";
}
