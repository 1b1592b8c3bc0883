using System.Buffers;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;

namespace Foom.Server.Ingest;

/// <summary>Size limits of one kind of upload.</summary>
public sealed record UploadLimits(long MaxBodyBytes, long MaxDecompressedBytes, int MaxRatio);

/// <summary>An upload that cannot be accepted, with the status code and the reason the client sees.</summary>
public sealed class UploadRejectedException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}

/// <summary>
/// Reads an upload's body within its limits: the bytes on the wire (413 past the cap, checked
/// against Content-Length first and while reading), then gzip when the client says so or the
/// bytes start with gzip's magic, stopping at the decompressed cap or ratio (a decompression
/// bomb, 413) before it is ever held in memory whole.
/// </summary>
public static class UploadBody
{
    public sealed record Body(byte[] Raw, bool WasGzip, byte[] Content);

    public static async Task<Body> ReadAsync(HttpRequest request, UploadLimits limits, CancellationToken cancellationToken)
    {
        if (request.ContentLength is long declared && declared > limits.MaxBodyBytes)
            throw new UploadRejectedException(413, $"the body is {declared} bytes; at most {limits.MaxBodyBytes} are accepted");
        var raw = await ReadCappedAsync(request.Body, limits.MaxBodyBytes, "the body", cancellationToken);
        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        var saysGzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (encoding.Length > 0 && !saysGzip && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            throw new UploadRejectedException(415, $"Content-Encoding '{Truncate(encoding)}' is not supported; send gzip or nothing");
        var looksGzip = raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
        if (!saysGzip && !looksGzip) return new Body(raw, false, raw);
        if (!looksGzip) throw new UploadRejectedException(400, "Content-Encoding says gzip but the body is not gzip data");
        var cap = Math.Min(limits.MaxDecompressedBytes, Math.Max(1L << 20, (long)raw.Length * limits.MaxRatio));
        try
        {
            await using var gzip = new GZipStream(new MemoryStream(raw, writable: false), CompressionMode.Decompress);
            var content = await ReadCappedAsync(gzip, cap, "the decompressed body", cancellationToken, bomb: true);
            return new Body(raw, true, content);
        }
        catch (InvalidDataException e)
        {
            throw new UploadRejectedException(400, $"the gzip data is corrupt: {e.Message}");
        }
    }

    /// <summary>Compresses what came uncompressed, so every stored raw upload is gzip.</summary>
    public static byte[] Gzip(ReadOnlySpan<byte> content)
    {
        using var output = new MemoryStream(content.Length / 4 + 64);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(content);
        return output.ToArray();
    }

    public static byte[] Gunzip(byte[] gzipped)
    {
        using var input = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    private static async Task<byte[]> ReadCappedAsync(Stream stream, long cap, string what, CancellationToken cancellationToken, bool bomb = false)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            using var collected = new MemoryStream();
            while (true)
            {
                int read;
                try
                {
                    read = await stream.ReadAsync(buffer, cancellationToken);
                }
                catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == 413)
                {
                    throw new UploadRejectedException(413, $"{what} is larger than the server accepts");
                }
                if (read == 0) break;
                if (collected.Length + read > cap)
                    throw new UploadRejectedException(413, bomb
                        ? $"{what} is larger than {cap} bytes (a decompression bomb, or a report far over the size limit)"
                        : $"{what} is larger than {cap} bytes");
                collected.Write(buffer, 0, read);
            }
            return collected.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
