using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Foom.Interop;
using Foom.Report.IO;
using Foom.Storage.Sessions;

namespace Foom.Upload;

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
/// How far the queue may grow while the server cannot be reached (docs/report-format.md,
/// "Upload"). Past either bound, entries are dropped to make room: automatic reports first,
/// then reports queued on purpose, launch records last, each oldest first.
/// </summary>
public sealed record UploadQueueLimits
{
    public static readonly UploadQueueLimits Default = new();

    /// <summary>Entries waiting: at one launch record per start, weeks of launches for most programs.</summary>
    public int MaxEntries { get; init; } = 2000;

    /// <summary>Bytes of entries waiting: a hundred reports at their 300 KB budget.</summary>
    public long MaxBytes { get; init; } = 32L << 20;

    /// <summary>Entries kept in failed/ (with their reasons), the newest.</summary>
    public int MaxFailed { get; init; } = 200;
}

/// <summary>What <see cref="UploadQueue.Enqueue"/> did: the entry's file, and the entries dropped to make room for it (their file names without extension: kind-id).</summary>
public sealed record Enqueued(string Path, IReadOnlyList<string> Dropped);

/// <summary>
/// The on-disk queue of uploads in &lt;data&gt;/upload-queue/. An entry is one file written
/// atomically (temporary file, fsync, rename, fsync of the folder): once Enqueue returns, a crash
/// loses nothing, and a crash before leaves no partial entry. Entries are named by kind and id,
/// so enqueuing the same report again replaces it. Entries the server refused for good
/// (400, 413, ...) move to failed/ with the reason beside them. The queue is bounded
/// (<see cref="UploadQueueLimits"/>): what is dropped to stay within it is named to the caller.
/// </summary>
public sealed class UploadQueue
{
    private const string Extension = ".upload";
    private const string ReasonExtension = ".reason";
    private static readonly byte[] Magic = "FOOMUPL1"u8.ToArray();

    public UploadQueue(string directory, UploadQueueLimits? limits = null)
    {
        Directory = directory;
        FailedDirectory = System.IO.Path.Combine(directory, "failed");
        Limits = limits ?? UploadQueueLimits.Default;
    }

    public static UploadQueue In(DataDirectory data, UploadQueueLimits? limits = null) => new(System.IO.Path.Combine(data.Root, "upload-queue"), limits);

    public string Directory { get; }
    public string FailedDirectory { get; }
    public UploadQueueLimits Limits { get; }

    /// <summary>Queues an entry durably, then drops older ones while the queue is over its limits (never this one).</summary>
    public Enqueued Enqueue(UploadEntryInfo info, ReadOnlySpan<byte> json)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = PathOf(info);
        using var gzip = new MemoryStream();
        using (var compressor = new System.IO.Compression.GZipStream(gzip, ReportJson.GzipLevel, leaveOpen: true))
            compressor.Write(json);
        var meta = JsonSerializer.SerializeToUtf8Bytes(info, UploadJson.Default.UploadEntryInfo);
        var file = new byte[Magic.Length + 4 + meta.Length + gzip.Length];
        Magic.CopyTo(file, 0);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(Magic.Length), meta.Length);
        meta.CopyTo(file, Magic.Length + 4);
        gzip.GetBuffer().AsSpan(0, (int)gzip.Length).CopyTo(file.AsSpan(Magic.Length + 4 + meta.Length));
        ReportWriter.WriteAtomically(path, file);
        SyncFolder();
        return new Enqueued(path, Trim(keep: path));
    }

    /// <summary>
    /// Drops entries, other than <paramref name="keep"/>, until the queue is within its limits:
    /// automatic reports first (the server samples them anyway), then reports queued on purpose,
    /// then launch records (small, and what the FOOM rate counts), each oldest first.
    /// Descriptions are read only when a limit is passed.
    /// </summary>
    private List<string> Trim(string keep)
    {
        var files = new List<(string Path, long Length)>();
        foreach (var file in new DirectoryInfo(Directory).EnumerateFiles("*" + Extension))
        {
            try
            {
                files.Add((file.FullName, file.Length));
            }
            catch (FileNotFoundException)
            {
                // Sent and removed by a flush meanwhile.
            }
        }
        var count = files.Count;
        var bytes = files.Sum(file => file.Length);
        var dropped = new List<string>();
        if (count <= Limits.MaxEntries && bytes <= Limits.MaxBytes) return dropped;

        var keepPath = System.IO.Path.GetFullPath(keep);
        var candidates = files.Where(file => file.Path != keepPath)
            .Select(file => (file.Path, file.Length, Order: DropOrder(file.Path)))
            .OrderBy(file => file.Order.Rank).ThenBy(file => file.Order.QueuedAt).ThenBy(file => file.Path, StringComparer.Ordinal);
        foreach (var (path, length, _) in candidates)
        {
            if (count <= Limits.MaxEntries && bytes <= Limits.MaxBytes) break;
            File.Delete(path);
            count--;
            bytes -= length;
            dropped.Add(System.IO.Path.GetFileNameWithoutExtension(path));
        }
        SyncFolder();
        return dropped;
    }

    /// <summary>One sentence naming what <see cref="Enqueue"/> dropped and why, for the user.</summary>
    public string DroppedStatement(IReadOnlyList<string> dropped) =>
        string.Create(CultureInfo.InvariantCulture, $"the queue in {Directory} was full (at most {Limits.MaxEntries} entries and {Limits.MaxBytes / 1048576.0:0.#} MiB while the server cannot be reached): ") +
        $"dropped the {dropped.Count} oldest it could spare: {string.Join(", ", dropped.Take(5))}{(dropped.Count > 5 ? ", …" : "")}";

    /// <summary>0 an automatic report, 1 a report queued on purpose, 2 a launch record; and when it was queued. A file that cannot be read goes first.</summary>
    private static (int Rank, long QueuedAt) DropOrder(string path)
    {
        try
        {
            var info = ReadInfo(path);
            return (info.Kind == UploadKind.Launch ? 2 : info.Sampled ? 0 : 1, info.QueuedAt);
        }
        catch (Exception unreadable) when (unreadable is InvalidDataException or IOException)
        {
            return (0, long.MinValue);
        }
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
        SyncFolder();
    }

    /// <summary>Moves an entry the server refused for good to failed/, with the reason in a .reason file beside it.</summary>
    public void Fail(UploadEntry entry, string reason) => Fail(entry.Path, reason);

    private void Fail(string path, string reason)
    {
        System.IO.Directory.CreateDirectory(FailedDirectory);
        var target = System.IO.Path.Combine(FailedDirectory, System.IO.Path.GetFileName(path));
        File.WriteAllText(target + ReasonExtension, reason + "\n");
        File.Move(path, target, overwrite: true);
        // A server that refuses everything would fill failed/: the newest entries and their reasons stay.
        foreach (var old in new DirectoryInfo(FailedDirectory).EnumerateFiles("*" + Extension)
                     .OrderByDescending(file => file.LastWriteTimeUtc).ThenByDescending(file => file.Name, StringComparer.Ordinal).Skip(Limits.MaxFailed))
        {
            File.Delete(old.FullName + ReasonExtension);
            old.Delete();
        }
        SyncFolder();
    }

    public static UploadEntry Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var (info, bodyStart) = ParseInfo(path, bytes, bytes.Length);
        return new UploadEntry(path, info, bytes[bodyStart..]);
    }

    /// <summary>An entry's description alone, read from the front of its file.</summary>
    private static UploadEntryInfo ReadInfo(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var front = new byte[(int)Math.Min(stream.Length, 16 * 1024)];
        stream.ReadExactly(front);
        return ParseInfo(path, front, stream.Length).Info;
    }

    private static (UploadEntryInfo Info, int BodyStart) ParseInfo(string path, byte[] front, long fileLength)
    {
        if (front.Length < Magic.Length + 4 || !front.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"{path}: does not start with the queue entry mark");
        var metaLength = BinaryPrimitives.ReadInt32LittleEndian(front.AsSpan(Magic.Length));
        if (metaLength <= 0 || metaLength > fileLength - Magic.Length - 4 || metaLength > front.Length - Magic.Length - 4)
            throw new InvalidDataException($"{path}: its description length {metaLength} does not fit the file");
        UploadEntryInfo? info;
        try
        {
            info = JsonSerializer.Deserialize(front.AsSpan(Magic.Length + 4, metaLength), UploadJson.Default.UploadEntryInfo);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: its description is not valid JSON: {e.Message}", e);
        }
        if (info is null || info.Id.Length == 0) throw new InvalidDataException($"{path}: its description has no id");
        return (info, Magic.Length + 4 + metaLength);
    }

    /// <summary>fsync of the queue's folder, so that a rename or a delete in it survives a crash of the machine.</summary>
    private void SyncFolder()
    {
        try { Files.SyncFolder(Directory); }
        catch (IOException) { }   // best effort: the rename itself is already atomic
    }

    private string PathOf(UploadEntryInfo info) =>
        System.IO.Path.Combine(Directory, $"{info.Kind.ToString().ToLowerInvariant()}-{System.IO.Path.GetFileNameWithoutExtension(ReportWriter.FileNameOf(info.Id))}{Extension}");
}

/// <summary>The queue's entry descriptions and the launch records, their serializer metadata generated at compile time.</summary>
[JsonSerializable(typeof(UploadEntryInfo))]
[JsonSerializable(typeof(LaunchRecord))]
internal sealed partial class UploadJson : JsonSerializerContext;
