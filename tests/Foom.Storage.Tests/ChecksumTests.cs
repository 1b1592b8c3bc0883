using System.Buffers.Binary;
using Foom.Storage.Categories;
using Foom.Storage.Live;
using Foom.Storage.Modules;
using Foom.Storage.Tests.Support;

using Foom.Testing;

namespace Foom.Storage.Tests;

/// <summary>
/// Issue 16, item 7: damage inside the tables is named, never read as data. Before the
/// checksums, two bit flips in categories.foom changed a category name and the session opened
/// without a word (the first test read "VM: anonymous" back as another name).
/// </summary>
public sealed class ChecksumTests : IDisposable
{
    private const int HeaderSize = 4096;
    private readonly TempDirectory _dir = new();

    public ChecksumTests()
    {
        using var tables = SessionTables.Create(_dir.Path);
        SessionTablesTests.WriteSample(tables);
    }

    public void Dispose() => _dir.Dispose();

    private void Flip(string name, long offset, int bit)
    {
        var path = _dir.File(name);
        var bytes = File.ReadAllBytes(path);
        bytes[offset] ^= (byte)(1 << bit);
        File.WriteAllBytes(path, bytes);
    }

    private long BytesUsed(string name) => BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(_dir.File(name)).AsSpan(32));

    [Fact]
    public void TwoBitFlipsInACategoryNameAreNamedNotRead()
    {
        // Record 2 is "VM: anonymous", after record 1, "System.String" (8 + 13 bytes).
        const int record2 = 8 + 13;
        Flip(CategoryTable.FileName, HeaderSize + record2 + 8 + 1, 0);
        Flip(CategoryTable.FileName, HeaderSize + record2 + 8 + 4, 5);
        var error = Assert.Throws<SessionFormatException>(() => SessionTables.Open(_dir.Path).Dispose());
        Assert.EndsWith(CategoryTable.FileName, error.FilePath);
        Assert.Contains($"record 2 (at byte {record2}) fails its checksum", error.Message);
    }

    [Theory]
    [InlineData(CategoryTable.FileName)]
    [InlineData(ModuleTable.FileName)]
    public void NoSingleBitFlipInALengthPrefixedTableIsReadAsData(string name)
    {
        var original = File.ReadAllBytes(_dir.File(name));
        var used = BytesUsed(name);
        for (var offset = HeaderSize; offset < HeaderSize + used; offset++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var damaged = (byte[])original.Clone();
                damaged[offset] ^= (byte)(1 << bit);
                File.WriteAllBytes(_dir.File(name), damaged);
                var error = Assert.Throws<SessionFormatException>(() => SessionTables.Open(_dir.Path).Dispose());
                Assert.EndsWith(name, error.FilePath);
            }
        }
    }

    [Theory]
    [InlineData(LiveAllocations.FileName, 56)]
    [InlineData(CategoryTable.FileName, 72)]
    [InlineData(ModuleTable.FileName, 60)]
    public void AFlipInAHeadersLifelongFieldsFailsItsChecksum(string name, int offset)
    {
        Flip(name, offset, 3);
        var error = Assert.Throws<SessionFormatException>(() => SessionTables.Open(_dir.Path).Dispose());
        Assert.EndsWith(name, error.FilePath);
        Assert.Contains("the header fails its checksum", error.Message);
    }

    [Fact]
    public void ATornRecordPastThePublishedCountIsRecoveryNotCorruption()
    {
        // A writer killed while appending leaves bytes past the count it had published.
        var used = BytesUsed(CategoryTable.FileName);
        var path = _dir.File(CategoryTable.FileName);
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(HeaderSize + (int)used), 40);
        bytes[HeaderSize + used + 8] = (byte)'X';
        File.WriteAllBytes(path, bytes);
        using var reader = SessionTables.Open(_dir.Path);
        Assert.Equal(["", "System.String", "VM: anonymous"], reader.Categories.Names);
    }
}
