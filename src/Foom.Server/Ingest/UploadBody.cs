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
///
/// Both are read into buffers rented from the shared pool and handed back when the body is
/// disposed: a report is some 300 KB of JSON, and fresh arrays of that size live on the large
/// object heap, where at 200 uploads a second they made the runtime collect generation 2 over
/// and over (most of the server's CPU went to the collector and to zeroing new pages).
/// </summary>
public static class UploadBody
{
    /// <summary>
    /// An upload as read: <see cref="Content"/> is the JSON (decompressed when it came as gzip).
    /// Both views stay valid until the body is disposed; nothing may keep them beyond that.
    /// </summary>
    public sealed class Body : IDisposable
    {
        private byte[]? _rawBuffer;
        private byte[]? _contentBuffer;

        internal Body(byte[] rawBuffer, int rawLength, byte[]? contentBuffer, int contentLength)
        {
            _rawBuffer = rawBuffer;
            _contentBuffer = contentBuffer;
            Raw = rawBuffer.AsMemory(0, rawLength);
            Content = contentBuffer is null ? Raw : contentBuffer.AsMemory(0, contentLength);
        }

        /// <summary>The bytes on the wire.</summary>
        public ReadOnlyMemory<byte> Raw { get; }

        public bool WasGzip => _contentBuffer is not null;

        public ReadOnlyMemory<byte> Content { get; }

        /// <summary>The upload as it is stored: gzip, compressed here when it came plain.</summary>
        public byte[] ToStoredGzip() => WasGzip ? Raw.ToArray() : Gzip(Content.Span);

        public void Dispose()
        {
            if (_rawBuffer is not null) ArrayPool<byte>.Shared.Return(_rawBuffer);
            if (_contentBuffer is not null) ArrayPool<byte>.Shared.Return(_contentBuffer);
            _rawBuffer = _contentBuffer = null;
        }
    }

    public static async Task<Body> ReadAsync(HttpRequest request, UploadLimits limits, CancellationToken cancellationToken)
    {
        if (request.ContentLength is long declared && declared > limits.MaxBodyBytes)
            throw new UploadRejectedException(413, $"the body is {declared} bytes; at most {limits.MaxBodyBytes} are accepted");
        var encoding = request.Headers.ContentEncoding.ToString().Trim();
        var saysGzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (encoding.Length > 0 && !saysGzip && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            throw new UploadRejectedException(415, $"Content-Encoding '{Truncate(encoding)}' is not supported; send gzip or nothing");
        var expected = request.ContentLength is long length ? (int)Math.Max(length, 1) : 16 << 10;
        var (raw, rawLength) = await ReadCappedAsync(request.Body, expected, limits.MaxBodyBytes, "the body", cancellationToken);
        try
        {
            var looksGzip = rawLength >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
            if (!saysGzip && !looksGzip) return new Body(raw, rawLength, null, 0);
            if (!looksGzip) throw new UploadRejectedException(400, "Content-Encoding says gzip but the body is not gzip data");
            var cap = Math.Min(limits.MaxDecompressedBytes, Math.Max(1L << 20, (long)rawLength * limits.MaxRatio));
            try
            {
                await using var gzip = new GZipStream(new MemoryStream(raw, 0, rawLength, writable: false), CompressionMode.Decompress);
                var (content, contentLength) = await ReadCappedAsync(gzip, rawLength * 16, cap, "the decompressed body", cancellationToken, bomb: true);
                return new Body(raw, rawLength, content, contentLength);
            }
            catch (InvalidDataException e)
            {
                throw new UploadRejectedException(400, $"the gzip data is corrupt: {e.Message}");
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(raw);
            throw;
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

    /// <summary>
    /// Reads the whole stream into a pooled buffer (its owner returns it), starting at the size
    /// expected and doubling, and refusing anything past <paramref name="cap"/>.
    /// </summary>
    private static async Task<(byte[] Buffer, int Length)> ReadCappedAsync(Stream stream, long expected, long cap, string what, CancellationToken cancellationToken, bool bomb = false)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(Math.Min(expected, cap) + 1, 4096, 1 << 20));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, Array.MaxLength));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                int read;
                try
                {
                    read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                }
                catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == 413)
                {
                    throw new UploadRejectedException(413, $"{what} is larger than the server accepts");
                }
                if (read == 0) return (buffer, length);
                if ((long)length + read > cap)
                    throw new UploadRejectedException(413, bomb
                        ? $"{what} is larger than {cap} bytes (a decompression bomb, or a report far over the size limit)"
                        : $"{what} is larger than {cap} bytes");
                length += read;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
