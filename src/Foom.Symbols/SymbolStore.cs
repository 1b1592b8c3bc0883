using Foom.Symbols.Elf;
using Foom.Symbols.IO;
using Foom.Symbols.MachO;
using Foom.Interop;

namespace Foom.Symbols;

/// <summary>One id under which an added file is now found.</summary>
/// <param name="Id">Normalized build-id or LC_UUID.</param>
/// <param name="Architecture">The Mach-O architecture of that UUID, null for ELF.</param>
/// <param name="Stored">False when the store already held a file for this id that is at least as
/// good (has DWARF or a full symbol table where the new one has not), and kept it.</param>
public sealed record StoredSymbolId(string Id, string? Architecture, bool Stored);

/// <summary>What <see cref="SymbolStore.Add(Stream, string, long)"/> did with a file.</summary>
/// <param name="Format">"elf" or "mach-o".</param>
public sealed record StoredSymbolFile(string Format, IReadOnlyList<StoredSymbolId> Ids);

/// <summary>
/// Symbol files by build-id or UUID, in one folder of files named by their normalized id: ELF
/// binaries and debug files by GNU build-id, Mach-O images and dSYM DWARF companions by LC_UUID
/// (a universal file is filed under the UUID of each architecture). The server fills it from
/// <c>POST /api/v1/symbols</c>; the <see cref="Symbolizer"/> looks files up in it. A file is in
/// the store, fsync'ed, before <c>Add</c> returns.
/// </summary>
public sealed class SymbolStore
{
    private const string IncomingPrefix = ".incoming-";
    private readonly Lock _lock = new();

    public SymbolStore(string directory)
    {
        Directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(Directory);
        RemoveAbandonedUploads();
    }

    /// <summary>Uploads a process was still receiving when it died are never filed: remove them
    /// once they are clearly not in progress (an hour old).</summary>
    private void RemoveAbandonedUploads()
    {
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, IncomingPrefix + "*"))
        {
            try
            {
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > TimeSpan.FromHours(1)) File.Delete(file);
            }
            catch (IOException) { } // another process removed it first
        }
    }

    public string Directory { get; }

    /// <summary>The stored file for <paramref name="id"/> (any spelling), or null.</summary>
    public string? Find(string? id)
    {
        var normalized = BuildIds.Normalize(id);
        if (normalized == null) return null;
        var path = Path.Combine(Directory, normalized);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Every id the store holds.</summary>
    public IEnumerable<string> Ids() =>
        System.IO.Directory.EnumerateFiles(Directory).Select(Path.GetFileName).Where(n => n != null && BuildIds.Normalize(n) == n)!;

    /// <summary>Adds a copy of the file at <paramref name="path"/>.</summary>
    public StoredSymbolFile Add(string path, long maxBytes = long.MaxValue)
    {
        using var stream = OpenSource(path);
        return Add(stream, path, maxBytes);
    }

    /// <summary>
    /// Reads an ELF or Mach-O file from <paramref name="content"/> (at most
    /// <paramref name="maxBytes"/>), checks that it parses and has an id, and files it under each
    /// of its ids. Throws <see cref="SymbolFileException"/> naming <paramref name="name"/> when the
    /// file is too large, is neither ELF nor Mach-O, is corrupt, or has no build-id or UUID.
    /// </summary>
    public StoredSymbolFile Add(Stream content, string name, long maxBytes = long.MaxValue)
    {
        var incoming = Path.Combine(Directory, IncomingPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            Receive(content, incoming, name, maxBytes);
            var (format, ids) = Identify(incoming, name);
            var results = new List<StoredSymbolId>();
            lock (_lock)
            {
                foreach (var (id, architecture, quality) in ids)
                {
                    var target = Path.Combine(Directory, id);
                    if (File.Exists(target) && QualityOf(target, id) >= quality)
                    {
                        results.Add(new StoredSymbolId(id, architecture, Stored: false));
                        continue;
                    }
                    var copy = incoming + "-" + id;
                    File.Copy(incoming, copy, overwrite: true);
                    using (var handle = File.Open(copy, FileMode.Open, FileAccess.ReadWrite)) handle.Flush(flushToDisk: true);
                    File.Move(copy, target, overwrite: true);
                    results.Add(new StoredSymbolId(id, architecture, Stored: true));
                }
                Files.SyncFolder(Directory);
            }
            return new StoredSymbolFile(format, results);
        }
        finally
        {
            File.Delete(incoming);
        }
    }

    private static FileStream OpenSource(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SymbolFileException(path, e is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : $"cannot be read: {e.Message}", e);
        }
    }

    private static void Receive(Stream content, string incoming, string name, long maxBytes)
    {
        using var output = new FileStream(incoming, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        var buffer = new byte[1 << 16];
        long total = 0;
        int read;
        while ((read = content.Read(buffer)) > 0)
        {
            total += read;
            if (total > maxBytes) throw new SymbolFileException(name, $"is larger than the {maxBytes} bytes allowed for a symbol file");
            output.Write(buffer, 0, read);
        }
        if (total == 0) throw new SymbolFileException(name, "is empty");
        output.Flush(flushToDisk: true);
    }

    /// <summary>The format and ids of the file, each with how much it holds for symbolication.</summary>
    private static (string Format, List<(string Id, string? Architecture, int Quality)> Ids) Identify(string file, string name)
    {
        Span<byte> magic = stackalloc byte[4];
        using (var stream = File.OpenRead(file))
        {
            if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4) throw new SymbolFileException(name, "is too short to be an ELF or Mach-O file");
        }
        try
        {
            if (ElfFile.HasElfMagic(magic))
            {
                using var elf = ElfFile.Open(file);
                if (elf.BuildId == null) throw new SymbolFileException(name, "is an ELF file without a GNU build-id note: it could never be matched to a report (link with --build-id)");
                elf.ReadFunctionSymbols();
                return ("elf", [(elf.BuildId, null, Quality(elf))]);
            }
            if (MachOFile.HasMachOMagic(magic))
            {
                using var macho = MachOFile.Open(file);
                var ids = new List<(string, string?, int)>();
                foreach (var image in macho.Images)
                {
                    if (image.Uuid == null) throw new SymbolFileException(name, $"the {image.Architecture} image has no LC_UUID: it could never be matched to a report");
                    image.ReadFunctionSymbols();
                    ids.Add((image.Uuid, image.Architecture, Quality(image)));
                }
                return ("mach-o", ids);
            }
        }
        catch (SymbolFileException e) when (e.FilePath == file)
        {
            throw new SymbolFileException(name, e.Problem, e);
        }
        throw new SymbolFileException(name, "is neither an ELF nor a Mach-O file");
    }

    private static int Quality(ElfFile elf) => (elf.HasDebugInfo ? 2 : 0) + (elf.HasFullSymbolTable ? 1 : 0);

    private static int Quality(MachOImage image) => (image.HasDebugInfo ? 2 : 0) + (image.HasSymbolTable ? 1 : 0);

    /// <summary>The quality of what is stored for <paramref name="id"/>; -1 when it is unreadable (so anything replaces it).</summary>
    private static int QualityOf(string path, string id)
    {
        try
        {
            Span<byte> magic = stackalloc byte[4];
            using (var stream = File.OpenRead(path)) stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
            if (ElfFile.HasElfMagic(magic))
            {
                using var elf = ElfFile.Open(path);
                return Quality(elf);
            }
            using var macho = MachOFile.Open(path);
            return macho.FindImage(id) is { } image ? Quality(image) : -1;
        }
        catch (Exception e) when (e is SymbolFileException or IOException)
        {
            return -1;
        }
    }
}
