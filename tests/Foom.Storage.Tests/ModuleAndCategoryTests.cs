using Foom.Storage.Categories;
using Foom.Storage.Modules;
using Foom.Storage.Stacks;
using Foom.Storage.Tests.Support;
using Foom.Testing;

namespace Foom.Storage.Tests;

public class ModuleAndCategoryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void APcResolvesToItsModuleAndTheOffsetFromTheLoadBias()
    {
        using var modules = ModuleTable.Create(_dir.Path);
        var exe = modules.Load("/usr/bin/app", "ABCDEF01", loadBias: 0x5555_0000_0000, start: 0x5555_0000_0000, size: 0x20000);
        var libc = modules.Load("/lib/libc.so.6", "0011", loadBias: 0x7f00_0000_0000, start: 0x7f00_0002_8000, size: 0x1000_0000);
        Assert.Equal(new Frame(exe, 0x1234), modules.Resolve(0x5555_0000_1234));
        Assert.Equal(new Frame(libc, 0x2_9000), modules.Resolve(0x7f00_0002_9000));
        Assert.Equal(Frame.Unknown(0x6000_0000_0000), modules.Resolve(0x6000_0000_0000)); // between modules
        Assert.Equal(Frame.Unknown(0x7f00_0002_7fff), modules.Resolve(0x7f00_0002_7fff)); // below libc's lowest address
        Assert.Equal("abcdef01", modules.Find(exe)!.BuildId);

        Span<Frame> frames = stackalloc Frame[2];
        modules.Resolve([0x5555_0000_0010UL, 0x7f00_0002_8000UL], frames);
        Assert.Equal(new Frame(exe, 0x10), frames[0]);
        Assert.Equal(new Frame(libc, 0x2_8000), frames[1]);
    }

    [Fact]
    public void UnloadedModulesKeepTheirIdButNoLongerResolve()
    {
        using var modules = ModuleTable.Create(_dir.Path);
        var plugin = modules.Load("/opt/plugin.so", null, 0x7000_0000_0000, 0x7000_0000_0000, 0x4000);
        Assert.True(modules.Unload(plugin));
        Assert.False(modules.Unload(plugin));
        Assert.Equal(0, modules.Resolve(0x7000_0000_0010).ModuleId);
        Assert.False(modules.Find(plugin)!.Loaded);

        var other = modules.Load("/opt/other.so", null, 0x7000_0000_0000, 0x7000_0000_0000, 0x8000); // reuses the range
        Assert.NotEqual(plugin, other);
        var again = modules.Load("/opt/plugin.so", null, 0x7100_0000_0000, 0x7100_0000_0000, 0x4000);
        Assert.NotEqual(plugin, again); // another address: another module record
        modules.Unload(again);
        Assert.Equal(again, modules.Load("/opt/plugin.so", null, 0x7100_0000_0000, 0x7100_0000_0000, 0x4000)); // identical: revived
    }

    [Fact]
    public void LoadingOverALoadedModuleMarksTheOldOneUnloaded()
    {
        using var modules = ModuleTable.Create(_dir.Path);
        var first = modules.Load("/a.so", null, 0x1000_0000, 0x1000_0000, 0x10000);
        var second = modules.Load("/b.so", null, 0x1000_8000, 0x1000_8000, 0x10000);
        Assert.False(modules.Find(first)!.Loaded);
        Assert.Equal(second, modules.ModuleIdAt(0x1000_8000));
        Assert.Equal(0, modules.ModuleIdAt(0x1000_0000));
    }

    [Fact]
    public void AReaderReplaysLoadsAndUnloads()
    {
        using (var modules = ModuleTable.Create(_dir.Path))
        {
            modules.Load("/usr/bin/app", "aa", 0x400000, 0x400000, 0x1000);
            var lib = modules.Load("/usr/lib/libü.so", "bb", 0x7f00_0000_0000, 0x7f00_0000_0000, 0x2000);
            modules.Unload(lib);
        }
        using var reader = ModuleTable.OpenReadOnly(_dir.Path);
        Assert.Equal(2, reader.Count);
        Assert.Equal(new ModuleInfo(2, "/usr/lib/libü.so", "bb", 0x7f00_0000_0000, 0x7f00_0000_0000, 0x2000, Loaded: false), reader.Find(2));
        Assert.Equal(new Frame(1, 0x400010 - 0x400000), reader.Resolve(0x400010));
    }

    [Fact]
    public void BuildIdsMustBeHex()
    {
        using var modules = ModuleTable.Create(_dir.Path);
        Assert.Throws<FormatException>(() => modules.Load("/x.so", "not-hex", 0, 0x1000, 0x1000));
    }

    [Fact]
    public void CategoriesAreInternedOnceAndReadBack()
    {
        using (var categories = CategoryTable.Create(_dir.Path))
        {
            Assert.Equal(0, categories.Intern(""));
            var view = categories.Intern("System.String");
            Assert.Equal(1, view);
            Assert.Equal(2, categories.Intern("VM: stack"));
            Assert.Equal(view, categories.Intern("System.String".AsSpan()));
            Assert.True(categories.TryGetId("VM: stack", out var id));
            Assert.Equal(2, id);
            Assert.Equal("VM: stack", categories.Name(2));
            Assert.Null(categories.Name(3));
        }
        using var reader = CategoryTable.OpenReadOnly(_dir.Path);
        Assert.Equal(["", "System.String", "VM: stack"], reader.Names);
    }

    [Fact]
    public void CategoryIdsStopAt65535AndTheOverflowIsCounted()
    {
        using var categories = CategoryTable.Create(_dir.Path);
        for (var i = 1; i <= CategoryTable.MaxId; i++) Assert.Equal(i, categories.Intern("T" + i));
        Assert.Equal(0, categories.Intern("one too many"));
        Assert.Equal(1, categories.OverflowCount);
        Assert.Equal(7, categories.Intern("T7"));
    }
}
