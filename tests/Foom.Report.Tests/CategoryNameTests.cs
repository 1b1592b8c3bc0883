using Foom.Report.Building;
using Foom.Report.Tests.Support;

namespace Foom.Report.Tests;

public class CategoryNameTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 16)]
    [InlineData(15, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 32)]
    [InlineData(1023, 1024)]
    [InlineData(1024, 1024)]
    [InlineData(1048575, 1048576)]
    public void SizesAreRoundedUpTo16(long size, long rounded) => Assert.Equal(rounded, CategoryNames.RoundUp16(size));

    [Theory]
    [InlineData(0, "Malloc 0 Bytes")]
    [InlineData(1, "Malloc 16 Bytes")]
    [InlineData(33, "Malloc 48 Bytes")]
    [InlineData(1008, "Malloc 1008 Bytes")]
    // 1009..1023 round up to 1024, the first KiB name: the boundary is on the rounded size.
    [InlineData(1009, "Malloc 1.00 KiB")]
    [InlineData(1023, "Malloc 1.00 KiB")]
    [InlineData(1024, "Malloc 1.00 KiB")]
    [InlineData(1025, "Malloc 1.02 KiB")]
    [InlineData(1536, "Malloc 1.50 KiB")]
    [InlineData(1048560, "Malloc 1023.98 KiB")]
    [InlineData(1048561, "Malloc 1.00 MiB")]
    [InlineData(1048575, "Malloc 1.00 MiB")]
    [InlineData(1048576, "Malloc 1.00 MiB")]
    [InlineData(2097152, "Malloc 2.00 MiB")]
    [InlineData(3 * 1048576 + 524288, "Malloc 3.50 MiB")]
    public void HeapBlocksAreNamedAsMatrixNamesThem(long size, string name) => Assert.Equal(name, CategoryNames.Malloc(size));

    [Fact]
    public void MappingsAreNamedAfterTheirKind()
    {
        Assert.Equal("VM: anonymous", CategoryNames.Mapping("anonymous"));
        Assert.Equal("VM: unknown", CategoryNames.Mapping(""));
        Assert.Equal("VM: stack", CategoryNames.Mapping("VM: stack"));   // the recorder's names carry the prefix already
    }

    [Fact]
    public void BlocksOfSizesThatShareAMiBNameShareOneCategory()
    {
        var heap = new TestHeap();
        var stack = heap.Stack(0x100);
        heap.Malloc(stack, 2 * 1048576);
        heap.Malloc(stack, 2 * 1048576 + 4096);  // still "Malloc 2.00 MiB"
        heap.Malloc(stack, 1023);                // "Malloc 1.00 KiB"
        heap.Malloc(stack, 1024);
        var report = heap.Build();
        Assert.Equal(["Malloc 2.00 MiB", "Malloc 1.00 KiB"], report.Items.Select(i => i.Name));
        Assert.Equal(2, report.Items[0].Count);
        Assert.Equal(2 * 2097152 + 4096, report.Items[0].Size);
        Assert.Equal(1023 + 1024, report.Items[1].Size);  // the bytes asked for; only the name rounds
    }

    [Fact]
    public void TypeNamesAndMappingKindsNameTheirCategories()
    {
        var heap = new TestHeap();
        var stack = heap.Stack(0x100);
        heap.Typed(stack, 7, "System.Byte[]", 4000);
        heap.Mapping(stack, 1, "anonymous", 1 << 20);
        var report = heap.Build();
        Assert.Equal(["VM: anonymous", "System.Byte[]"], report.Items.Select(i => i.Name));
        Assert.Equal(4000, report.Items[1].Size);
    }
}
