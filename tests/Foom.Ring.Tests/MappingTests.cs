using System.Globalization;
using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

public class MappingTests
{
    private const int Page = 4096;
    private const int ProtRead = 1, ProtWrite = 2;

    [Fact]
    public async Task EveryKindOfMappingPartialUnmapAndMremapIsRecorded()
    {
        var binary = CProgram.Build("mappings.c", CProgram.WithFramePointers);
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, new byte[5 * Page], TestContext.Current.CancellationToken);
            var result = await HookedRun.RunAsync(binary, [file]);
            Assert.True(result.ExitCode == 0, result.Describe());
            var printed = result.Output.Split('\n').Select(l => l.Split(' ')).Where(p => p.Length == 2 && p[1].StartsWith("0x", StringComparison.Ordinal))
                .ToDictionary(p => p[0], p => ulong.Parse(p[1].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            var maps = result.Of(RecordKind.Map).ToList();
            RecordedEvent MapAt(string name) => maps.Single(m => m.Address == printed[name] && m.Source == EventSource.Mmap);

            var anonymous = MapAt("anonymous");
            Assert.Equal((MapKind.Anonymous, 4ul * Page, ProtRead | ProtWrite), (anonymous.MapKind, anonymous.Size, anonymous.Prot));
            Assert.Equal("main", result.Functions.NameOf(anonymous.Frames[0]));
            Assert.Equal((MapKind.Stack, 8ul * Page), (MapAt("stack").MapKind, MapAt("stack").Size));
            Assert.Equal((MapKind.Shared, 2ul * Page), (MapAt("shared").MapKind, MapAt("shared").Size));
            var mapped = MapAt("file");
            Assert.Equal((MapKind.File, 3ul * Page, ProtRead, Path.GetFullPath(file)), (mapped.MapKind, mapped.Size, mapped.Prot, mapped.Path));

            var unmaps = result.Of(RecordKind.Unmap).ToList();
            var hole = unmaps.Single(u => u.Address == printed["hole"]);
            Assert.Equal((EventSource.Munmap, (ulong)Page), (hole.Source, hole.Size));
            Assert.True(hole.Position > anonymous.Position);

            // mremap: the old mapping goes before the call, the new one (kind Remap, from the old) comes after it.
            var oldPart = unmaps.Single(u => u.Source == EventSource.Mremap);
            Assert.Equal((printed["small"], 2ul * Page), (oldPart.Address, oldPart.Size));
            var grown = maps.Single(m => m.Source == EventSource.Mremap);
            Assert.Equal((printed["grown"], 64ul * Page, MapKind.Remap, printed["small"]), (grown.Address, grown.Size, grown.MapKind, grown.OldAddress));
            Assert.NotEqual(printed["small"], printed["grown"]);
            Assert.True(oldPart.Position < grown.Position);
            Assert.Contains(unmaps, u => u.Address == printed["grown"] && u.Size == 64ul * Page);
            Assert.Contains(unmaps, u => u.Address == printed["stack"] && u.Size == 8ul * Page);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
