using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Foom.Report.Diff;
using Foom.Report.Model;
using Foom.Report.Views;

namespace Foom.Report.IO;

/// <summary>
/// The one way reports are turned into bytes, so that the size the budget measures is the size
/// that is saved and uploaded: compact UTF-8 JSON, gzip'ed at <see cref="GzipLevel"/>.
/// </summary>
public static class ReportJson
{
    /// <summary>
    /// Function names are full of &lt; &gt; &amp; (C++ templates); the default encoder would write each
    /// as a six-byte escape. Reports are never embedded in HTML unescaped, so the relaxed encoder is safe.
    /// </summary>
    public static JsonSerializerOptions Compact { get; } = new()
    {
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = ReportJsonTypes.Default,
    };

    public static JsonSerializerOptions Indented { get; } = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = ReportJsonTypes.Default,
    };

    /// <summary>The compile-time metadata of <typeparamref name="T"/> for these options (one of <see cref="ReportJsonTypes"/>).</summary>
    public static JsonTypeInfo<T> TypeInfo<T>(JsonSerializerOptions options) => (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));

    public const CompressionLevel GzipLevel = CompressionLevel.Optimal;

    public static byte[] ToUtf8(Model.Report report) => JsonSerializer.SerializeToUtf8Bytes(report, TypeInfo<Model.Report>(Compact));

    public static byte[] ToGzip(Model.Report report)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, GzipLevel, leaveOpen: true))
            JsonSerializer.Serialize(gzip, report, TypeInfo<Model.Report>(Compact));
        return buffer.ToArray();
    }

    /// <summary>The gzip'ed size without keeping the bytes.</summary>
    public static long GzipSize(Model.Report report)
    {
        var counter = new CountingStream();
        using (var gzip = new GZipStream(counter, GzipLevel, leaveOpen: true))
            JsonSerializer.Serialize(gzip, report, TypeInfo<Model.Report>(Compact));
        return counter.Length;
    }

    private sealed class CountingStream : Stream
    {
        private long _length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;
    }
}

/// <summary>
/// What is written with <see cref="ReportJson"/>'s options, its serializer metadata generated at
/// compile time: the native `foom run` (compiled ahead of time) has no reflection-based serializer,
/// and the JIT build skips building the metadata at first use.
/// </summary>
[JsonSerializable(typeof(Model.Report))]
[JsonSerializable(typeof(ReportStack))]
[JsonSerializable(typeof(ReportDiff))]
[JsonSerializable(typeof(SpeedscopeFile))]
public sealed partial class ReportJsonTypes : JsonSerializerContext;
