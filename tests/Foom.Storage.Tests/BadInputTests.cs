using System.Buffers.Binary;
using Foom.Storage.Categories;
using Foom.Storage.Live;
using Foom.Storage.Modules;
using Foom.Storage.Stacks;
using Foom.Storage.Tests.Support;
using Foom.Testing;

namespace Foom.Storage.Tests;

/// <summary>
/// Damaged sessions: each must give a SessionFormatException naming the file and the fault,
/// never a crash and never partial data without saying so.
/// </summary>
public class BadInputTests : IDisposable
{
    private const int HeaderSize = 4096;
    private readonly TempDirectory _dir = new();

    public BadInputTests()
    {
        using var tables = SessionTables.Create(_dir.Path);
        SessionTablesTests.WriteSample(tables);
    }

    public void Dispose() => _dir.Dispose();

    private string PathOf(string name) => _dir.File(name);

    private void Patch(string name, long offset, Action<Span<byte>> change)
    {
        var bytes = File.ReadAllBytes(PathOf(name));
        change(bytes.AsSpan((int)offset));
        File.WriteAllBytes(PathOf(name), bytes);
    }

    /// <summary>
    /// Changes the first record of a byte log and gives it the checksum of its new bytes: a
    /// record a writer got wrong, rather than damage, to reach the checks on what it says.
    /// </summary>
    private void PatchRecordKeepingItsChecksum(string name, Action<Span<byte>> change) =>
        Patch(name, HeaderSize, b =>
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(b);
            change(b.Slice(8, length));
            var crc = new System.IO.Hashing.Crc32();
            crc.Append(b[..4]);
            crc.Append(b.Slice(8, length));
            BinaryPrimitives.WriteUInt32LittleEndian(b[4..], crc.GetCurrentHashAsUInt32());
        });

    private SessionFormatException OpenFails(string fileName, string expected)
    {
        var error = Assert.Throws<SessionFormatException>(() => SessionTables.Open(_dir.Path).Dispose());
        Assert.EndsWith(fileName, error.FilePath);
        Assert.Contains(expected, error.Message);
        return error;
    }

    [Fact]
    public void AMissingSessionDirectoryIsNamed()
    {
        var error = Assert.Throws<SessionFormatException>(() => SessionTables.Open(PathOf("nope")));
        Assert.Contains("no such session directory", error.Message);
    }

    [Theory]
    [InlineData(LiveAllocations.FileName)]
    [InlineData(StackTable.NodesFileName)]
    [InlineData(StackTable.FramesFileName)]
    [InlineData(ModuleTable.FileName)]
    [InlineData(CategoryTable.FileName)]
    public void AMissingTableFileIsNamed(string name)
    {
        File.Delete(PathOf(name));
        OpenFails(name, "is missing");
    }

    [Theory]
    [InlineData(LiveAllocations.FileName)]
    [InlineData(StackTable.NodesFileName)]
    [InlineData(ModuleTable.FileName)]
    public void AFileCutInsideItsHeaderIsTruncated(string name)
    {
        File.WriteAllBytes(PathOf(name), File.ReadAllBytes(PathOf(name))[..100]);
        OpenFails(name, "shorter than its 4096-byte header: truncated");
    }

    [Fact]
    public void AFileCutInsideItsRecordsIsTruncated()
    {
        File.WriteAllBytes(PathOf(LiveAllocations.FileName), File.ReadAllBytes(PathOf(LiveAllocations.FileName))[..(HeaderSize + 24 * 10)]);
        OpenFails(LiveAllocations.FileName, "truncated");
    }

    [Fact]
    public void AnotherFormatVersionIsRefused()
    {
        Patch(LiveAllocations.FileName, 8, b => BinaryPrimitives.WriteUInt32LittleEndian(b, 3));
        OpenFails(LiveAllocations.FileName, "format version 3; this Foom reads versions 1 to 2");
    }

    [Fact]
    public void AnotherTablesFileInItsPlaceIsNamedForWhatItIs()
    {
        File.Copy(PathOf(StackTable.NodesFileName), PathOf(LiveAllocations.FileName), overwrite: true);
        OpenFails(LiveAllocations.FileName, "is a Foom stack table file, not a live-allocation table file");
    }

    [Fact]
    public void AForeignFileIsNotMistakenForATable()
    {
        File.WriteAllBytes(PathOf(StackTable.FramesFileName), Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7)).ToArray());
        OpenFails(StackTable.FramesFileName, "is not a Foom frame table file");
    }

    [Fact]
    public void ABlankHeaderSaysTheWriterDiedCreatingIt()
    {
        Patch(CategoryTable.FileName, 0, b => b[..128].Clear());
        OpenFails(CategoryTable.FileName, "header is blank");
    }

    [Fact]
    public void AWrongRecordSizeIsRefused()
    {
        Patch(LiveAllocations.FileName, 12, b => BinaryPrimitives.WriteUInt32LittleEndian(b, 32));
        OpenFails(LiveAllocations.FileName, "records are 32 bytes; this reader expects 24");
    }

    [Fact]
    public void ACountBeyondTheCapacityIsCorrupt()
    {
        Patch(StackTable.NodesFileName, 32, b => BinaryPrimitives.WriteInt64LittleEndian(b, 1L << 40));
        OpenFails(StackTable.NodesFileName, "records are in use but there is room for");
    }

    [Fact]
    public void HeaderCountsThatDisagreeWithTheRecordsOfACleanSessionAreCorrupt()
    {
        Patch(LiveAllocations.FileName, 128, b => BinaryPrimitives.WriteInt64LittleEndian(b, 99));
        OpenFails(LiveAllocations.FileName, "the header counts 99 heap blocks");
    }

    [Fact]
    public void ARecordNamingAStackTheTableLacksIsCorrupt()
    {
        // Slot 1's payload: size in bits 0..31, stack id in bits 32..63.
        Patch(LiveAllocations.FileName, HeaderSize + 24 + 8, b => BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 5000));
        OpenFails(LiveAllocations.FileName, "names stack 5000");
    }

    [Fact]
    public void TwoLiveRecordsAtOneAddressAreCorrupt()
    {
        // Make slot 2 a copy of slot 1 (same address) with the header's counts adjusted.
        Patch(LiveAllocations.FileName, HeaderSize, b => b.Slice(24, 16).CopyTo(b.Slice(48, 16)));
        OpenFails(LiveAllocations.FileName, "two live heap records have the address");
    }

    [Fact]
    public void AStackNodeWhoseParentIsNotEarlierIsCorruptInsteadOfLoopingForever()
    {
        // Node 1's parent (bits 32..63) made to point at node 3, a later node.
        Patch(StackTable.NodesFileName, HeaderSize + 8 + 4, b => BinaryPrimitives.WriteUInt32LittleEndian(b, 3));
        using var reader = SessionTables.Open(_dir.Path);
        var error = Assert.Throws<SessionFormatException>(() => reader.Stacks.FramesOf(reader.Stacks.NodeCount - 1));
        Assert.EndsWith(StackTable.NodesFileName, error.FilePath);
        Assert.Contains("names parent 3, which is not an earlier node", error.Message);
    }

    [Fact]
    public void AFrameNamingAnUnknownModuleIsCorrupt()
    {
        Patch(StackTable.FramesFileName, HeaderSize + 8 + 6, b => BinaryPrimitives.WriteUInt16LittleEndian(b, 77));
        OpenFails(StackTable.FramesFileName, "frame 1 names module 77");
    }

    [Fact]
    public void AModuleRecordWhoseLengthRunsPastTheEndIsCorrupt()
    {
        Patch(ModuleTable.FileName, HeaderSize, b => BinaryPrimitives.WriteInt32LittleEndian(b, 1_000_000));
        OpenFails(ModuleTable.FileName, "record 1 (at byte 0) claims 1000000 bytes");
    }

    [Fact]
    public void AModuleRecordOfUnknownTypeIsCorrupt()
    {
        PatchRecordKeepingItsChecksum(ModuleTable.FileName, b => b[0] = 9);
        OpenFails(ModuleTable.FileName, "has unknown type 9");
    }

    [Fact]
    public void ACategoryNameThatIsNotUtf8IsCorrupt()
    {
        PatchRecordKeepingItsChecksum(CategoryTable.FileName, b => b[0] = 0xFF);
        OpenFails(CategoryTable.FileName, "is not valid UTF-8");
    }

    [Fact]
    public void AJournalOfUnknownKindLeftByADeadWriterIsCorrupt()
    {
        // Writer state back to "writing" (as if it died), and a journal entry of kind 99.
        Patch(LiveAllocations.FileName, 20, b => BinaryPrimitives.WriteUInt32LittleEndian(b, 1));
        Patch(LiveAllocations.FileName, 128 + 64, b =>
        {
            BinaryPrimitives.WriteInt64LittleEndian(b, 5);
            BinaryPrimitives.WriteInt32LittleEndian(b[8..], 99);
        });
        OpenFails(LiveAllocations.FileName, "unknown kind 99");
    }

    [Fact]
    public void AnUnknownWriterStateIsCorrupt()
    {
        Patch(StackTable.NodesFileName, 20, b => BinaryPrimitives.WriteUInt32LittleEndian(b, 7));
        OpenFails(StackTable.NodesFileName, "writer state 7");
    }
}
