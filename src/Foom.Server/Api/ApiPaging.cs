using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;

namespace Foom.Server.Api;

/// <summary>
/// Cursor pagination for every list: ?limit=N (1 to 1000, 100 by default) and ?cursor=C from
/// the previous page's Link header (RFC 8288, rel="next"), which is absent on the last page. A
/// cursor is opaque: where the next page starts, as a position in the list's order or, for
/// reports, the row it continues below (stable while new reports arrive).
/// </summary>
public readonly record struct ApiPaging(int Limit, long Position)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static ApiPaging Read(string? limit, string? cursor) =>
        new(ApiQuery.Int(limit, "limit", 1, MaxLimit, DefaultLimit), cursor is null ? 0 : Decode(cursor));

    /// <summary>One page of a list held whole (groups and aggregates, a few thousand rows at most).</summary>
    public List<T> Page<T>(HttpContext context, IReadOnlyList<T> all)
    {
        var page = all.Skip((int)Math.Min(Position, int.MaxValue)).Take(Limit).ToList();
        if (Position + page.Count < all.Count) Next(context, Position + page.Count);
        return page;
    }

    /// <summary>Says where the next page starts, in the Link header.</summary>
    public void Next(HttpContext context, long position)
    {
        var request = context.Request;
        var query = QueryString.Create(request.Query
            .Where(q => q.Key != "cursor")
            .Select(q => new KeyValuePair<string, string?>(q.Key, q.Value.ToString()))
            .Append(new KeyValuePair<string, string?>("cursor", Encode(position))));
        context.Response.Headers.Link = $"<{UriHelper.BuildRelative(request.PathBase, request.Path, query)}>; rel=\"next\"";
    }

    private static string Encode(long position) => Base64Url.EncodeToString(Encoding.ASCII.GetBytes("p" + position.ToString(CultureInfo.InvariantCulture)));

    private static long Decode(string cursor)
    {
        try
        {
            var text = Encoding.ASCII.GetString(Base64Url.DecodeFromChars(cursor));
            if (text.StartsWith('p') && long.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var position)) return position;
        }
        catch (FormatException)
        {
        }
        throw new ApiProblemException(400, $"query parameter 'cursor' is '{ApiQuery.Short(cursor)}': not a cursor this API gave; take it from the Link header of the previous page");
    }
}
