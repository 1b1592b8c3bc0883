using System.Diagnostics;
using Foom.Storage.Managed;
using Microsoft.Diagnostics.Runtime;

namespace Foom.Managed;

/// <summary>
/// Reads the heap dump a .NET runtime wrote as it died (<see cref="DotnetCrashSettings"/>) with
/// ClrMD: the managed heap by type at that instant, the exception the program died of with its
/// throwing stack, and for the biggest types the references from a GC root that keep one of their
/// objects alive (<see cref="RootPathFinder"/>). A dump that cannot be read whole (truncated by a
/// full disk, another runtime's) gives a <see cref="ManagedDump"/> whose problem says so, never an
/// exception.
/// </summary>
public static class HeapDumpReader
{
    /// <summary>The biggest types (by bytes, each at least 1 % of the heap) whose root paths are looked for.</summary>
    public const int RootPathTypes = 5;

    /// <summary>The dump the runtime wrote into <paramref name="sessionDirectory"/> (its crash report's name without the suffix), or null.</summary>
    public static string? Find(string sessionDirectory)
    {
        if (DotnetCrashReport.Find(sessionDirectory, DotnetCrashSettings.DumpNamePrefix) is { } report)
        {
            var dump = report[..^DotnetCrashReport.FileSuffix.Length];
            if (File.Exists(dump)) return dump;
        }
        try
        {
            // A dump without its crash report: the runtime wrote one but died before the report, or the report was removed.
            return Directory.EnumerateFiles(sessionDirectory, DotnetCrashSettings.DumpNamePrefix + "*")
                .Where(path => !path.EndsWith(DotnetCrashReport.FileSuffix, StringComparison.Ordinal))
                .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault();
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// After a .NET program's death: reads the dump its runtime wrote into the session into
    /// managed-dump.json and deletes the dump unless <paramref name="keepDump"/>; with no dump,
    /// writes why there is none when the runtime should have written one (it wrote its crash
    /// report, or Foom asked for no dump: <paramref name="noDumpAsked"/>). Returns what was written, or null.
    /// </summary>
    public static ManagedDump? Collect(string sessionDirectory, long? limitBytes, bool keepDump, string? noDumpAsked)
    {
        var crashReport = DotnetCrashReport.Find(sessionDirectory, DotnetCrashSettings.DumpNamePrefix);
        ManagedDump result;
        if (Find(sessionDirectory) is { } dumpPath)
        {
            result = Read(dumpPath, limitBytes);
            if (keepDump) result.KeptPath = dumpPath;
            else
            {
                try
                {
                    File.Delete(dumpPath);
                }
                catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
                {
                    result.KeptPath = dumpPath;
                    result.Problem = (result.Problem is null ? "" : result.Problem + "; ") + $"the dump could not be deleted: {problem.Message}";
                }
            }
        }
        else if (noDumpAsked is not null && (crashReport is not null || RanDotnet(sessionDirectory))) result = new ManagedDump { Problem = noDumpAsked };
        else if (crashReport is not null)
            result = new ManagedDump { Problem = $"the runtime wrote its crash report ({Path.GetFileName(crashReport)}) but no heap dump: createdump failed to write it (its reason is on the program's stderr; a full disk?)" };
        else return null;
        ManagedFiles.WriteDump(sessionDirectory, result);
        return result;
    }

    /// <summary>Whether the managed recorder found a .NET runtime in the program (managed.json says so).</summary>
    private static bool RanDotnet(string sessionDirectory)
    {
        try
        {
            return ManagedFiles.ReadStatus(sessionDirectory) is { Diagnostics: not "not_dotnet" };
        }
        catch (Foom.Storage.SessionFormatException)
        {
            return false;
        }
    }

    public static ManagedDump Read(string dumpPath, long? limitBytes)
    {
        var clock = Stopwatch.StartNew();
        var file = new FileInfo(dumpPath);
        var result = new ManagedDump { DumpBytes = file.Exists ? file.Length : 0, Time = file.Exists ? new DateTimeOffset(file.LastWriteTimeUtc).ToUnixTimeMilliseconds() : 0 };
        try
        {
            ReadInto(result, dumpPath, limitBytes);
        }
        // ClrMD parses a file the dying process wrote, perhaps cut short by a full disk or the
        // process's end; whatever it throws on such input is reported as that dump's problem,
        // never as a failure of the run.
        catch (Exception problem) when (problem is not OutOfMemoryException)
        {
            result.Problem = $"{dumpPath} ({result.DumpBytes} bytes) could not be read: {problem.GetType().Name}: {problem.Message}";
        }
        result.ReadMilliseconds = Math.Round(clock.Elapsed.TotalMilliseconds, 1);
        return result;
    }

    private static void ReadInto(ManagedDump result, string dumpPath, long? limitBytes)
    {
        using var target = DataTarget.LoadDump(dumpPath);
        if (target.ClrVersions.Length == 0)
        {
            result.Problem = $"{dumpPath} holds no .NET runtime that ClrMD recognizes (truncated, or not a .NET process's dump)";
            return;
        }
        using var runtime = CreateRuntime(target.ClrVersions[0]);
        var heap = runtime.Heap;
        var problems = new List<string>();
        if (!heap.CanWalkHeap) problems.Add("the runtime was inside a garbage collection when it died, so the heap walk may have missed objects");

        var byType = new Dictionary<ulong, TypeTally>();
        long bytes = 0, count = 0, unreadable = 0;
        foreach (var obj in heap.EnumerateObjects())
        {
            if (!obj.IsValid || obj.Type is not { } type)
            {
                unreadable++;
                continue;
            }
            if (type.IsFree) continue;
            var size = (long)obj.Size;
            if (!byType.TryGetValue(type.MethodTable, out var tally)) byType[type.MethodTable] = tally = new TypeTally(type.Name ?? $"<type 0x{type.MethodTable:x}>");
            tally.Add(obj.Address, size);
            bytes += size;
            count++;
        }
        if (unreadable > 0) problems.Add($"{unreadable} objects could not be read (the dump lacks their memory or their type): they are not counted");
        var ranked = byType.Values.OrderByDescending(t => t.Bytes).ThenByDescending(t => t.Count).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        result.Census = new ManagedCensus
        {
            Time = result.Time,
            LimitBytes = limitBytes,
            Trigger = "death",
            Bytes = bytes,
            Count = count,
            // Every type: the report's managed items add up to the census, as its reader checks.
            Types = [.. ranked.Select(t => new ManagedTypeTotal { Name = t.Name, Count = t.Count, Bytes = t.Bytes })],
        };

        result.Exception = Exception(runtime);
        // Types under 1 % of the heap are not what filled it; their paths would only be noise.
        var big = ranked.Take(RootPathTypes).Where(t => t.Bytes * 100 >= bytes).Select(t => (t.Name, t.SampleObject)).ToList();
        result.RootPaths = RootPathFinder.Find(runtime, big, problems);
        if (problems.Count > 0) result.Problem = string.Join("; ", problems);
    }

    /// <summary>
    /// The runtime, through the DAC beside the dead program's libcoreclr.so (ClrMD's own search
    /// looks only in symbol stores on Linux): the same machine ran it, so its DAC is there unless
    /// the runtime was removed since. The version check is left out because ClrMD reads version
    /// 0.0 from a Linux dump of .NET 10 (its libcoreclr.so has no version resource in the dump);
    /// the shared runtime's folder is named by its version, so the DAC at that path is the dead
    /// runtime's own.
    /// </summary>
    private static ClrRuntime CreateRuntime(ClrInfo clr)
    {
        var directory = Path.GetDirectoryName(clr.ModuleInfo.FileName);
        var dac = directory is null ? null : Path.Combine(directory, "libmscordaccore.so");
        if (dac is null || !File.Exists(dac))
            throw new FileNotFoundException($"the runtime's DAC {dac ?? "libmscordaccore.so"} (beside {clr.ModuleInfo.FileName}, {clr.Version}) is not on this machine");
        return clr.CreateRuntime(dac, ignoreMismatch: true);
    }

    /// <summary>The exception a thread was throwing at the death: an OutOfMemoryException first, else the first thread's.</summary>
    private static ManagedDumpException? Exception(ClrRuntime runtime)
    {
        ClrException? found = null;
        ClrThread? thrower = null;
        foreach (var thread in runtime.Threads)
        {
            if (thread.CurrentException is not { } exception) continue;
            if (found is null || (exception.Type?.Name == "System.OutOfMemoryException" && found.Type?.Name != "System.OutOfMemoryException"))
            {
                found = exception;
                thrower = thread;
            }
        }
        if (found is null || thrower is null) return null;
        var frames = new List<string>();
        foreach (var frame in found.StackTrace)
            if (frame.Method is { } method) frames.Add(method.Signature ?? $"{method.Type?.Name}.{method.Name}");
        return new ManagedDumpException
        {
            Type = found.Type?.Name ?? "?",
            Message = found.Message,
            HResult = found.HResult,
            Thread = thrower.ManagedThreadId,
            Frames = frames,
        };
    }

    /// <summary>One type's objects: counted, summed, and one object in the second half of its bytes (in heap order), the one whose root path is looked for.</summary>
    private sealed class TypeTally(string name)
    {
        public string Name { get; } = name;
        public long Count { get; private set; }
        public long Bytes { get; private set; }
        public ulong SampleObject { get; private set; }
        private long _bytesAtSample;

        public void Add(ulong address, long size)
        {
            Count++;
            Bytes += size;
            // Moved forward each time the total doubles, so it stays among the second half of the
            // type's bytes: most of a leaking type's bytes are the leak, so that object is almost
            // surely a leaked one (the first object of a type is often the runtime's own).
            if (SampleObject == 0 || _bytesAtSample < Bytes / 2)
            {
                SampleObject = address;
                _bytesAtSample = Bytes;
            }
        }
    }
}
