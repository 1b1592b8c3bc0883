using Foom.Storage.Categories;
using Foom.Storage.Live;
using Foom.Storage.Logs;
using Foom.Storage.Modules;
using Foom.Storage.Stacks;

namespace Foom.Storage;

/// <summary>
/// The storage engine's tables in a session directory, for the one writer (the recorder's
/// draining thread). Files, all memory-mapped and surviving a SIGKILL of the writer:
/// <list type="table">
/// <item><term>live.foom</term><description>live allocations: 24-byte records (<see cref="LiveAllocations"/>)</description></item>
/// <item><term>stacks.foom</term><description>stack nodes, 8 bytes each (<see cref="StackTable"/>)</description></item>
/// <item><term>frames.foom</term><description>distinct frames, 8 bytes each: module id and offset</description></item>
/// <item><term>modules.foom</term><description>module load and unload records (<see cref="ModuleTable"/>)</description></item>
/// <item><term>categories.foom</term><description>category names (<see cref="CategoryTable"/>)</description></item>
/// <item><term>stackkeys.foom</term><description>the event source's keys for stacks (<see cref="StackKeyTable"/>)</description></item>
/// <item><term>NAME.log.foom</term><description>circular logs of fixed-size records (<see cref="CircularLog{T}"/>)</description></item>
/// <item><term>writer.lock</term><description>held (exclusively) while the writer runs; the kernel drops it when the writer dies</description></item>
/// </list>
/// Every table file starts with a 4096-byte header page: magic, format version, record size,
/// capacity, published count, commit counter, writer state (see Mapping/FileHeader.cs).
/// </summary>
public sealed class SessionTables : IDisposable
{
    public const string LockFileName = "writer.lock";
    public const string LogSuffix = ".log.foom";

    private readonly FileStream _lock;
    private readonly List<IDisposable> _logs = [];
    private bool _disposed;

    private SessionTables(string directory, FileStream writerLock, LiveAllocations live, StackTable stacks, ModuleTable modules,
        CategoryTable categories, StackKeyTable stackKeys, IReadOnlyList<string> resumeNotes)
    {
        Directory = directory;
        _lock = writerLock;
        Live = live;
        Stacks = stacks;
        Modules = modules;
        Categories = categories;
        StackKeys = stackKeys;
        ResumeNotes = resumeNotes;
    }

    public string Directory { get; }
    public LiveAllocations Live { get; }
    public StackTable Stacks { get; }
    public ModuleTable Modules { get; }
    public CategoryTable Categories { get; }
    public StackKeyTable StackKeys { get; }

    /// <summary>For tables reopened by <see cref="Resume"/>: what had to be recovered, one sentence each (empty when the last writer closed them).</summary>
    public IReadOnlyList<string> ResumeNotes { get; }

    /// <summary>
    /// Creates the tables in <paramref name="directory"/> (created if missing; it must not hold
    /// tables already) and takes the writer lock. The files are created and first touched here, in
    /// the recorder, so their pages are charged to the recorder and not to the target.
    /// </summary>
    public static SessionTables Create(string directory, int initialLiveSlots = LiveAllocations.DefaultInitialSlots, int initialStackNodes = 1 << 16)
    {
        directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(directory);
        if (File.Exists(Path.Combine(directory, LiveAllocations.FileName)))
            throw new IOException($"{directory} already holds session tables; a session is written once");
        var writerLock = TakeWriterLock(directory);
        var opened = new List<IDisposable>();
        try
        {
            var live = LiveAllocations.Create(Path.Combine(directory, LiveAllocations.FileName), initialLiveSlots);
            opened.Add(live);
            var stacks = StackTable.Create(directory, initialStackNodes);
            opened.Add(stacks);
            var modules = ModuleTable.Create(directory);
            opened.Add(modules);
            var categories = CategoryTable.Create(directory);
            opened.Add(categories);
            var stackKeys = StackKeyTable.Create(directory);
            return new SessionTables(directory, writerLock, live, stacks, modules, categories, stackKeys, []);
        }
        catch
        {
            foreach (var table in opened) table.Dispose();
            writerLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reopens a session's tables as their writer, after the recorder that wrote them died (or
    /// closed them), so that a later process can go on applying events: takes the writer lock
    /// (an <see cref="IOException"/> while the old writer still runs), completes the operation
    /// the old writer had in flight and rebuilds its in-memory state from the files
    /// (<see cref="LiveAllocations.Resume"/>, <see cref="StackTable.Resume"/>);
    /// <see cref="ResumeNotes"/> says what was done. A damaged session throws
    /// <see cref="SessionFormatException"/> naming the file, and stays as readable as it was.
    /// </summary>
    public static SessionTables Resume(string directory)
    {
        directory = Path.GetFullPath(directory);
        if (!File.Exists(Path.Combine(directory, LiveAllocations.FileName)))
            throw new SessionFormatException(Path.Combine(directory, LiveAllocations.FileName), "the live-allocation table file is missing");
        var writerLock = TakeWriterLock(directory);
        var notes = new List<string>();
        var opened = new List<IDisposable>();
        try
        {
            var stacks = StackTable.Resume(directory);
            opened.Add(stacks);
            var modules = ModuleTable.Resume(directory);
            opened.Add(modules);
            var categories = CategoryTable.Resume(directory);
            opened.Add(categories);
            var stackKeys = StackKeyTable.Resume(directory);
            opened.Add(stackKeys);
            // Last: once its heap index and mapping tree are rebuilt it is the one table whose state a failure must not mark closed.
            var live = LiveAllocations.Resume(Path.Combine(directory, LiveAllocations.FileName), notes);
            return new SessionTables(directory, writerLock, live, stacks, modules, categories, stackKeys, notes);
        }
        catch
        {
            foreach (var table in opened) table.Dispose();
            writerLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a session's tables for reading, whether its writer closed them, died (SIGKILL) or is
    /// still running; <see cref="SessionReader.Recovery"/> says which and what recovery did. A
    /// damaged session throws <see cref="SessionFormatException"/> naming the file and the fault.
    /// </summary>
    public static SessionReader Open(string directory) => SessionReader.Open(directory);

    public static string LogFileName(string name) => name + LogSuffix;

    /// <summary>Creates the circular log NAME.log.foom in the session (see <see cref="CircularLog{T}"/>).</summary>
    public CircularLog<T> CreateLog<T>(string name, int capacity, ulong typeTag) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (string.IsNullOrEmpty(name) || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            throw new ArgumentException($"log name '{name}' must be letters, digits, '-' and '_'", nameof(name));
        var log = CircularLog<T>.Create(Path.Combine(Directory, LogFileName(name)), capacity, typeTag);
        _logs.Add(log);
        return log;
    }

    /// <summary>
    /// The circular log NAME.log.foom to append to: the one an earlier writer of the session made
    /// (a recorder that resumes a session), else a new one.
    /// </summary>
    public CircularLog<T> OpenOrCreateLog<T>(string name, int capacity, ulong typeTag) where T : unmanaged
    {
        var path = Path.Combine(Directory, LogFileName(name));
        if (!File.Exists(path)) return CreateLog<T>(name, capacity, typeTag);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var log = CircularLog<T>.OpenWritable(path, typeTag);
        _logs.Add(log);
        return log;
    }

    private static FileStream TakeWriterLock(string directory)
    {
        var path = Path.Combine(directory, LockFileName);
        try
        {
            // FileShare.None is an exclusive advisory lock (flock) on Linux: readers probe it, and
            // the kernel releases it the instant the writer dies.
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
            stream.Write(pid);
            stream.Flush();
            return stream;
        }
        catch (IOException e)
        {
            throw new IOException($"{directory} is being written by another recorder ({e.Message})", e);
        }
    }

    /// <summary>
    /// For tests: leaves the session as a killed writer would (live.foom not marked closed) and
    /// releases the lock, as the kernel does when the writer dies.
    /// </summary>
    internal void Abandon()
    {
        _disposed = true;
        Live.Abandon();
        Stacks.Dispose();
        Modules.Dispose();
        Categories.Dispose();
        StackKeys.Dispose();
        _lock.Dispose();
    }

    /// <summary>Closes every table cleanly (marking each file closed), then releases the writer lock.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var log in _logs) log.Dispose();
        Live.Dispose();
        Stacks.Dispose();
        Modules.Dispose();
        Categories.Dispose();
        StackKeys.Dispose();
        // Last: a reader that can take the lock must find every file marked closed.
        _lock.Dispose();
    }
}
