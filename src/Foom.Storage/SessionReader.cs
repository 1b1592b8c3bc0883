using Foom.Storage.Categories;
using Foom.Storage.Live;
using Foom.Storage.Logs;
using Foom.Storage.Mapping;
using Foom.Storage.Modules;
using Foom.Storage.Stacks;

namespace Foom.Storage;

/// <summary>
/// A session's tables opened for reading (by the report builder, possibly in another process
/// while the recorder runs, or after it was killed). The live allocations are read once, into
/// <see cref="Live"/>; stacks, modules and categories are read after them, so that everything a
/// live record names is there even while the writer goes on.
/// </summary>
public sealed class SessionReader : IDisposable
{
    private SessionReader(string directory, LiveSnapshot live, StackTable stacks, ModuleTable modules, CategoryTable categories, RecoveryReport recovery)
    {
        Directory = directory;
        Live = live;
        Stacks = stacks;
        Modules = modules;
        Categories = categories;
        Recovery = recovery;
    }

    public string Directory { get; }
    public LiveSnapshot Live { get; }
    public StackTable Stacks { get; }
    public ModuleTable Modules { get; }
    public CategoryTable Categories { get; }

    /// <summary>Whether the writer was running, closed, or died, and what recovery did.</summary>
    public RecoveryReport Recovery { get; }

    public static SessionReader Open(string directory)
    {
        directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(directory))
            throw new SessionFormatException(directory, "no such session directory");
        var running = WriterIsRunning(directory);
        var live = LiveSnapshot.Read(Path.Combine(directory, LiveAllocations.FileName), running);
        var opened = new List<IDisposable>();
        try
        {
            var stacks = StackTable.OpenReadOnly(directory);
            opened.Add(stacks);
            var modules = ModuleTable.OpenReadOnly(directory);
            opened.Add(modules);
            var categories = CategoryTable.OpenReadOnly(directory);
            opened.Add(categories);
            CheckReferences(directory, live, stacks, modules, categories);
            return new SessionReader(directory, live, stacks, modules, categories, new RecoveryReport(live.Status, live.Notes));
        }
        catch
        {
            foreach (var table in opened) table.Dispose();
            throw;
        }
    }

    /// <summary>Opens the circular log NAME.log.foom of this session.</summary>
    public CircularLog<T> OpenLog<T>(string name, ulong typeTag) where T : unmanaged =>
        CircularLog<T>.OpenReadOnly(Path.Combine(Directory, SessionTables.LogFileName(name)), typeTag);

    /// <summary>
    /// The writer holds writer.lock exclusively while it runs. A lock file we can share means
    /// no writer; none at all means a session copied without it, also no writer.
    /// </summary>
    public static bool WriterIsRunning(string directory)
    {
        var path = Path.Combine(directory, SessionTables.LockFileName);
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Whether the last writer of the session closed its tables (false when it died, or live.foom is missing or unreadable).</summary>
    public static bool WriterClosedCleanly(string directory)
    {
        try
        {
            using var file = MappedFile.OpenReadOnly(Path.Combine(directory, LiveAllocations.FileName), TableKind.Live);
            return file.ClosedCleanly;
        }
        catch (SessionFormatException)
        {
            return false;
        }
    }

    private static void CheckReferences(string directory, LiveSnapshot live, StackTable stacks, ModuleTable modules, CategoryTable categories)
    {
        var livePath = Path.Combine(directory, LiveAllocations.FileName);
        foreach (var a in live.Allocations)
        {
            if (!stacks.Contains(a.StackId))
                throw new SessionFormatException(livePath, $"the allocation at 0x{a.Address:x} names stack {a.StackId}, but {StackTable.NodesFileName} holds {stacks.NodeCount} nodes: the files do not belong together or one is damaged");
            if (a.CategoryId >= categories.Count)
                throw new SessionFormatException(livePath, $"the allocation at 0x{a.Address:x} names category {a.CategoryId}, but {CategoryTable.FileName} holds {categories.Count - 1}: the files do not belong together or one is damaged");
        }
        var framesPath = Path.Combine(directory, StackTable.FramesFileName);
        for (var id = 1; id < stacks.FrameCount; id++)
        {
            var module = stacks.FrameAt(id).ModuleId;
            if (module > modules.Count)
                throw new SessionFormatException(framesPath, $"frame {id} names module {module}, but {ModuleTable.FileName} holds {modules.Count}: the files do not belong together or one is damaged");
        }
    }

    public void Dispose()
    {
        Stacks.Dispose();
        Modules.Dispose();
        Categories.Dispose();
    }
}

/// <summary>What a reader found about the writer, and what it did to read a session whose writer died.</summary>
public sealed record RecoveryReport(WriterStatus Status, IReadOnlyList<string> Notes)
{
    /// <summary>One paragraph for a person: the writer's state and every recovery step.</summary>
    public string Statement => Status switch
    {
        WriterStatus.ClosedCleanly => "The recorder closed this session cleanly; nothing needed recovery." +
                                      (Notes.Count > 0 ? " " + string.Join(" ", Notes) : ""),
        _ => string.Join(" ", Notes),
    };
}
