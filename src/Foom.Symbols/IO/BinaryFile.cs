using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Foom.Interop;

namespace Foom.Symbols.IO;

/// <summary>
/// Random access to a region of a file (the whole file, or one slice of a universal Mach-O) where
/// every read is bounds-checked against the region first. A read that does not fit throws a
/// <see cref="SymbolFileException"/> that names the file and the structure being read, so a
/// truncated or corrupt binary gives a clear error instead of an exception from deep inside.
/// The bytes are a file's, or, for a file embedded in another (the ELF in a MiniDebugInfo
/// section), held in memory.
/// </summary>
internal sealed class BinaryFile : IDisposable
{
    /// <summary>No single table Foom reads (a symbol table, a string table) is allowed to be larger.</summary>
    public const long MaxTableBytes = 1L << 30;

    private readonly SafeFileHandle? _handle;
    private readonly byte[]? _memory;
    private readonly bool _ownsHandle;

    private BinaryFile(string path, SafeFileHandle? handle, byte[]? memory, long origin, long length, bool ownsHandle)
    {
        Path = path;
        _handle = handle;
        _memory = memory;
        Origin = origin;
        Length = length;
        _ownsHandle = ownsHandle;
    }

    /// <summary>Bytes held in memory, read as a file named <paramref name="path"/> in errors.</summary>
    public static BinaryFile InMemory(string path, byte[] bytes) => new(path, null, bytes, 0, bytes.Length, ownsHandle: false);

    public string Path { get; }

    /// <summary>Where this region starts in the file.</summary>
    public long Origin { get; }

    /// <summary>The region's length in bytes.</summary>
    public long Length { get; }

    /// <summary>
    /// Opens a regular file for reading. The file is opened non-blocking so that a FIFO or device
    /// given by mistake is refused at once rather than blocking the caller forever.
    /// </summary>
    public static BinaryFile Open(string path)
    {
        if (string.IsNullOrEmpty(path)) throw new SymbolFileException("(no path)", "no file path was given");
        var fd = Files.open(path, Files.O_RDONLY | Files.O_NONBLOCK | Files.O_CLOEXEC);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new SymbolFileException(path, errno switch
            {
                2 => "the file does not exist",
                13 => "permission denied",
                20 => "a folder on the path is not a folder",
                _ => $"cannot be opened ({Marshal.GetPInvokeErrorMessage(errno)})",
            });
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (Directory.Exists(path)) throw new SymbolFileException(path, "is a folder, not a file");
            long length;
            try { length = RandomAccess.GetLength(handle); }
            catch (Exception e) when (e is IOException or NotSupportedException or UnauthorizedAccessException)
            {
                throw new SymbolFileException(path, "is not a regular file (a pipe or device?)", e);
            }
            return new BinaryFile(path, handle, null, 0, length, ownsHandle: true);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>A view of part of this region (one architecture of a universal Mach-O file).</summary>
    public BinaryFile Slice(long offset, long length, string what)
    {
        CheckRange(offset, length, what);
        return new BinaryFile(Path, _handle, _memory, Origin + offset, length, ownsHandle: false);
    }

    /// <summary>Throws unless [offset, offset + length) lies within the region.</summary>
    public void CheckRange(long offset, long length, string what)
    {
        if (offset < 0 || length < 0 || offset > Length || length > Length - offset)
            throw Corrupt($"{what} at offset {offset} with {length} bytes runs past the end of the file ({Length} bytes): truncated or corrupt");
    }

    /// <summary>Same as <see cref="CheckRange(long,long,string)"/> for unsigned values read from the file.</summary>
    public (long Offset, long Length) CheckRange(ulong offset, ulong length, string what)
    {
        if (offset > (ulong)Length || length > (ulong)Length - offset)
            throw Corrupt($"{what} at offset {offset} with {length} bytes runs past the end of the file ({Length} bytes): truncated or corrupt");
        return ((long)offset, (long)length);
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes, bounds-checked.</summary>
    public byte[] Read(long offset, long length, string what)
    {
        CheckRange(offset, length, what);
        if (length > MaxTableBytes) throw Corrupt($"{what} claims {length} bytes, more than Foom reads for one table");
        var buffer = new byte[length];
        ReadInto(offset, buffer, what);
        return buffer;
    }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>, bounds-checked.</summary>
    public void ReadInto(long offset, Span<byte> destination, string what)
    {
        CheckRange(offset, destination.Length, what);
        if (_memory != null)
        {
            _memory.AsSpan((int)(Origin + offset), destination.Length).CopyTo(destination);
            return;
        }
        var done = 0;
        try
        {
            while (done < destination.Length)
            {
                var n = RandomAccess.Read(_handle!, destination[done..], Origin + offset + done);
                if (n <= 0) throw Corrupt($"{what}: the file ended early while reading (it changed while being read?)");
                done += n;
            }
        }
        catch (IOException e)
        {
            throw new SymbolFileException(Path, $"cannot read {what}: {e.Message}", e);
        }
    }

    public uint ReadUInt32BigEndian(long offset, string what)
    {
        Span<byte> bytes = stackalloc byte[4];
        ReadInto(offset, bytes, what);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    public uint ReadUInt32LittleEndian(long offset, string what)
    {
        Span<byte> bytes = stackalloc byte[4];
        ReadInto(offset, bytes, what);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    public SymbolFileException Corrupt(string problem) => new(Path, problem);

    public void Dispose()
    {
        if (_ownsHandle) _handle?.Dispose();
    }
}
