using Foom.Storage.Sessions;
using Foom.Storage.Tests.Support;

using Foom.Testing;

namespace Foom.Storage.Tests;

/// <summary>
/// Issue 16, item 8: smaps read while the process maps and unmaps lists a mapping that grew over
/// one already listed (the kernel lists a few mappings per read). The sample made of such a
/// reading must still be one the reader accepts. Failed before MakeConsistent: the sample was
/// written as read and refused ("overlaps the one before").
/// </summary>
public sealed class ResidentSampleTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Three mappings as smaps lists them; the second was listed at 1 MiB, then again after it grew to 3 MiB.</summary>
    private const string SmapsWhileMappingsChanged = """
        7f0000000000-7f0000100000 rw-p 00000000 00:00 0
        Size:               1024 kB
        Rss:                1024 kB
        Swap:                  0 kB
        7f0000200000-7f0000300000 rw-p 00000000 00:00 0
        Size:               1024 kB
        Rss:                 512 kB
        Swap:                  0 kB
        7f0000200000-7f0000500000 rw-p 00000000 00:00 0
        Size:               3072 kB
        Rss:                1536 kB
        Swap:                 12 kB
        7f0000400000-7f0000480000 rw-p 00000000 00:00 0
        Size:                512 kB
        Rss:                 512 kB
        Swap:                  0 kB
        7f0000600000-7f0000601000 r--p 00000000 00:00 0
        Size:                  4 kB
        Rss:                   8 kB
        Swap:                  0 kB
        """;

    [Fact]
    public void AReadingOfMappingsThatChangedMeanwhileIsMadeOneTheReaderAccepts()
    {
        var ranges = ResidentSample.ParseSmaps(new StringReader(SmapsWhileMappingsChanged))!;
        // Written as read (what the recorder did before), the sample is refused.
        new ResidentSample { TimeMilliseconds = 1, Pid = 2, Reason = "periodic", Ranges = [.. ranges] }.Write(_dir.Path);
        Assert.Contains("line 8: the range 7f0000200000-7f0000500000", Assert.Throws<SessionFormatException>(() => ResidentSample.Read(_dir.Path)).Message);

        Assert.True(ResidentSample.MakeConsistent([.. ranges], repair: false));
        Assert.True(ResidentSample.MakeConsistent(ranges, repair: true));
        Assert.False(ResidentSample.MakeConsistent([.. ranges], repair: false));

        new ResidentSample { TimeMilliseconds = 1, Pid = 2, Reason = "periodic", Ranges = [.. ranges] }.Write(_dir.Path);
        var read = ResidentSample.Read(_dir.Path)!;
        Assert.Equal(
            [
                (0x7f0000000000UL, 0x7f0000100000UL, 1024UL << 10),
                (0x7f0000200000UL, 0x7f0000300000UL, 512UL << 10),
                // The grown mapping keeps its 2 MiB not listed before, with two thirds of its resident bytes.
                (0x7f0000300000UL, 0x7f0000500000UL, 1024UL << 10),
                // Inside what was listed: dropped; more resident than long: capped at its length.
                (0x7f0000600000UL, 0x7f0000601000UL, 4096UL),
            ],
            read.Ranges.Select(range => (range.Start, range.End, range.ResidentBytes)));
    }

    [Fact]
    public void AConsistentReadingIsLeftAsItIs()
    {
        var ranges = ResidentSample.ParseSmaps(new StringReader("""
            7f0000000000-7f0000100000 rw-p 00000000 00:00 0
            Rss:                 256 kB
            7f0000100000-7f0000200000 rw-p 00000000 00:00 0
            Rss:                1024 kB
            """))!;
        var before = ranges.ToArray();
        Assert.False(ResidentSample.MakeConsistent(ranges, repair: true));
        Assert.Equal(before, ranges);
    }
}
