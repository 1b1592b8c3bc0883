using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Foom.Report.IO;
using Foom.Storage.Sessions;

namespace Foom.Report.Upload;

/// <summary>What an entry of the queue is for.</summary>
public enum UploadKind
{
    /// <summary>A Foom report: POST /api/v1/reports.</summary>
    Report,
    /// <summary>A Matrix memstat report: POST /api/v1/matrix/memstat?app=.</summary>
    MatrixReport,
    /// <summary>A launch record: POST /api/v1/launches.</summary>
    Launch,
}

/// <summary>An entry's description, stored at the front of its file.</summary>
public sealed class UploadEntryInfo
{
    [JsonPropertyName("kind")] public UploadKind Kind { get; set; }
    /// <summary>The report_id or launch_id: the server stores each once, so sending twice is harmless.</summary>
    [JsonPropertyName("id")] public string Id { get; set; } = "";
    [JsonPropertyName("app_id")] public string AppId { get; set; } = "";
    [JsonPropertyName("app_version")] public string? AppVersion { get; set; }
    [JsonPropertyName("device_id")] public string? DeviceId { get; set; }
    [JsonPropertyName("user_id")] public string? UserId { get; set; }
    /// <summary>True when the server's sampling policy decides whether it is sent (automatic uploads); false for an explicit `foom upload`.</summary>
    [JsonPropertyName("sampled")] public bool Sampled { get; set; }
    /// <summary>Milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("queued_at")] public long QueuedAt { get; set; }
}

/// <summary>One queued upload: its description and its gzip'ed JSON body.</summary>
public sealed record UploadEntry(string Path, UploadEntryInfo Info, byte[] GzipBody);

/// <summary>
/// The on-disk queue of uploads in &lt;data&gt;/upload-queue/. An entry is one file written
/// atomically (temporary file, fsync, rename, fsync of the folder): once Enqueue returns, a crash
/// loses nothing, and a crash before leaves no partial entry. Entries are named by kind and id,
/// so enqueuing the same report again replaces it. Entries the server refused for good
/// (400, 413, ...) move to failed/ with the reason beside them, never silently dropped.
/// </summary>
public sealed class UploadQueue
{
    private const string Extension = ".upload";
    private static readonly byte[] Magic = "FOOMUPL1"u8.ToArray();

    public UploadQueue(string directory)
    {
        Directory = directory;
        FailedDirectory = System.IO.Path.Combine(directory, "failed");
    }

    public static UploadQueue In(DataDirectory data) => new(System.IO.Path.Combine(data.Root, "upload-queue"));

    public string Directory { get; }
    public string FailedDirectory { get; }

    public string Enqueue(UploadEntryInfo info, ReadOnlySpan<byte> json)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = PathOf(info);
        using var gzip = new MemoryStream();
        using (var compressor = new System.IO.Compression.GZipStream(gzip, ReportJson.GzipLevel, leaveOpen: true))
            compressor.Write(json);
        var meta = JsonSerializer.SerializeToUtf8Bytes(info);
        var file = new byte[Magic.Length + 4 + meta.Length + gzip.Length];
        Magic.CopyTo(file, 0);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(Magic.Length), meta.Length);
        meta.CopyTo(file, Magic.Length + 4);
        gzip.GetBuffer().AsSpan(0, (int)gzip.Length).CopyTo(file.AsSpan(Magic.Length + 4 + meta.Length));
        ReportWriter.WriteAtomically(path, file);
        Durable.SyncDirectory(Directory);
        return path;
    }

    /// <summary>Every entry, oldest first. A file that is not a whole entry moves to failed/ with why.</summary>
    public List<UploadEntry> Entries()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var entries = new List<UploadEntry>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension))
        {
            try
            {
                entries.Add(Read(path));
            }
            catch (InvalidDataException e)
            {
                Fail(path, $"not a whole queue entry: {e.Message}");
            }
            catch (FileNotFoundException)
            {
                // Sent and removed by another flush meanwhile.
            }
        }
        return entries.OrderBy(e => e.Info.QueuedAt).ThenBy(e => e.Path, StringComparer.Ordinal).ToList();
    }

    public void Remove(UploadEntry entry)
    {
        File.Delete(entry.Path);
        Durable.SyncDirectory(Directory);
    }

    /// <summary>Moves an entry the server refused for good to failed/, with the reason in a .reason file beside it.</summary>
    public void Fail(UploadEntry entry, string reason) => Fail(entry.Path, reason);

    private void Fail(string path, string reason)
    {
        System.IO.Directory.CreateDirectory(FailedDirectory);
        var target = System.IO.Path.Combine(FailedDirectory, System.IO.Path.GetFileName(path));
        File.WriteAllText(target + ".reason", reason + "\n");
        File.Move(path, target, overwrite: true);
        Durable.SyncDirectory(Directory);
    }

    public static UploadEntry Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length + 4 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"{path}: does not start with the queue entry mark");
        var metaLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(Magic.Length));
        if (metaLength <= 0 || metaLength > bytes.Length - Magic.Length - 4)
            throw new InvalidDataException($"{path}: its description length {metaLength} does not fit the file");
        UploadEntryInfo? info;
        try
        {
            info = JsonSerializer.Deserialize<UploadEntryInfo>(bytes.AsSpan(Magic.Length + 4, metaLength));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: its description is not valid JSON: {e.Message}", e);
        }
        if (info is null || info.Id.Length == 0) throw new InvalidDataException($"{path}: its description has no id");
        return new UploadEntry(path, info, bytes[(Magic.Length + 4 + metaLength)..]);
    }

    private string PathOf(UploadEntryInfo info) =>
        System.IO.Path.Combine(Directory, $"{info.Kind.ToString().ToLowerInvariant()}-{System.IO.Path.GetFileNameWithoutExtension(ReportWriter.FileNameOf(info.Id))}{Extension}");
}

/// <summary>fsync of a folder, so that a rename or a delete in it survives a crash of the machine.</summary>
internal static partial class Durable
{
    public static void SyncDirectory(string directory)
    {
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;   // best effort: the rename itself is already atomic
        try { Fsync(fd); }
        finally { Close(fd); }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
