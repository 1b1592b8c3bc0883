using Foom.Recorder.Limits;

namespace Foom.Recording.Tests.Limits;

/// <summary>
/// The footprint of this test process itself, read between two steps of its own: no other test
/// may run in the process meanwhile (one that frees or maps memory moves VmRSS by megabytes: a
/// 64 MiB block once showed as 52 MiB), so this collection runs alone.
/// </summary>
[CollectionDefinition(nameof(ProcessFootprintTests), DisableParallelization = true)]
public sealed class ProcessFootprintCollection;

[Collection(nameof(ProcessFootprintTests))]
public sealed class ProcessFootprintTests
{
    [Fact]
    public void TheRingsPagesMappedIntoTheProgramAreLeftOutOfItsFootprintUpToItsResidentFilePages()
    {
        // A shared file mapping of 8 MiB, every page written: in VmRSS as RssFile, like Foom's ring
        // in a program the hook populated it in.
        var path = Path.Combine(Path.GetTempPath(), $"foom-footprint-{Guid.NewGuid():N}");
        try
        {
            const long size = 8L << 20;
            using var file = System.IO.MemoryMappedFiles.MemoryMappedFile.CreateFromFile(path, FileMode.CreateNew, null, size);
            using var view = file.CreateViewAccessor(0, size);
            for (long offset = 0; offset < size; offset += 4096) view.Write(offset, (byte)1);
            var whole = ProcessMemory.ReadFootprintBytes(Environment.ProcessId)!.Value;
            var withoutRing = ProcessMemory.ReadFootprintBytes(Environment.ProcessId, size)!.Value;
            var withoutAllFilePages = ProcessMemory.ReadFootprintBytes(Environment.ProcessId, long.MaxValue)!.Value;
            Assert.InRange(whole - withoutRing, size - (2L << 20), size + (2L << 20));
            // Never more than the resident file pages: what is left is at least the anonymous part.
            Assert.True(withoutAllFilePages > 0 && withoutAllFilePages < withoutRing, $"{withoutAllFilePages} of {withoutRing}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TheCheapFootprintFromStatusFollowsSmapsRollup()
    {
        // 64 MiB touched between two readings: both sources see it, and agree within what the
        // runtime itself allocates or frees meanwhile.
        var before = ProcessMemory.ReadFootprintBytes(Environment.ProcessId)!.Value;
        var block = new byte[64 << 20];
        Array.Fill(block, (byte)1);
        var cheap = ProcessMemory.ReadFootprintBytes(Environment.ProcessId)!.Value;
        var rollup = ProcessMemory.Read(Environment.ProcessId)!.FootprintBytes;
        GC.KeepAlive(block);
        Assert.True(cheap - before >= 60L << 20, $"status grew by {cheap - before} bytes for a 64 MiB block");
        Assert.True(Math.Abs(cheap - rollup) < 16L << 20, $"status says {cheap}, smaps_rollup {rollup}");
        Assert.Null(ProcessMemory.ReadFootprintBytes(int.MaxValue));
    }
}
