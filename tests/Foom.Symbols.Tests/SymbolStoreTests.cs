using Foom.Symbols.Tests.Support;

namespace Foom.Symbols.Tests;

public sealed class SymbolStoreTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("foom-store-");

    public void Dispose() => _folder.Delete(recursive: true);

    private SymbolStore NewStore() => new(Path.Combine(_folder.FullName, "symbols"));

    [Fact]
    public void ElfIsFiledByBuildIdAndABetterFileForTheSameIdReplacesAWorseOne()
    {
        var store = NewStore();
        var full = Native.Compile("libshapes.c", "-O1 -g -shared -fPIC");
        var stripped = Native.Strip(full);
        var id = Native.ReadelfBuildId(full)!;

        var first = store.Add(stripped);
        Assert.Equal("elf", first.Format);
        Assert.Equal(new StoredSymbolId(id, null, Stored: true), Assert.Single(first.Ids));
        Assert.Equal(File.ReadAllBytes(stripped), File.ReadAllBytes(store.Find(id)!));

        // The unstripped build has DWARF and .symtab: it replaces the stripped one.
        Assert.True(store.Add(full).Ids[0].Stored);
        Assert.Equal(File.ReadAllBytes(full), File.ReadAllBytes(store.Find(id)!));

        // The stripped one again is worse: kept out.
        Assert.False(store.Add(stripped).Ids[0].Stored);
        Assert.Equal(File.ReadAllBytes(full), File.ReadAllBytes(store.Find(id)!));
        Assert.Equal([id], store.Ids());
    }

    [Fact]
    public void UniversalMachOIsFiledUnderEachArchitecturesUuidAnyIdSpellingFindsIt()
    {
        var store = NewStore();
        var universal = MachOBuild.Universal("machlib.c");
        var uuids = MachOBuild.Uuids(universal);
        var added = store.Add(universal);
        Assert.Equal("mach-o", added.Format);
        Assert.Equal(uuids.OrderBy(u => u.Key).Select(u => (u.Value, (string?)u.Key)), added.Ids.OrderBy(i => i.Architecture).Select(i => (i.Id, i.Architecture)));
        var arm = uuids["arm64"];
        var dashed = $"{arm[..8]}-{arm[8..12]}-{arm[12..16]}-{arm[16..20]}-{arm[20..]}".ToUpperInvariant();
        Assert.Equal(store.Find(arm), store.Find(dashed));
        Assert.NotNull(store.Find(uuids["x86_64"]));
    }

    [Fact]
    public void DsymCompanionReplacesTheAppBinaryForItsUuid()
    {
        var store = NewStore();
        var image = MachOBuild.Link("machlib.c", "arm64");
        var companion = MachOBuild.DsymCompanion(image);
        Assert.True(store.Add(image).Ids[0].Stored);
        Assert.True(store.Add(companion).Ids[0].Stored);
        Assert.False(store.Add(image).Ids[0].Stored);
        Assert.Equal(File.ReadAllBytes(companion), File.ReadAllBytes(store.Find(MachOBuild.Uuids(image)["arm64"])!));
    }

    [Fact]
    public void BadUploadsAreRefusedNamingTheUploadAndLeaveNothingBehind()
    {
        var store = NewStore();
        SymbolFileException Refused(byte[] bytes, long max = long.MaxValue) =>
            Assert.Throws<SymbolFileException>(() => store.Add(new MemoryStream(bytes), "upload.bin", max));

        Assert.Contains("neither an ELF nor a Mach-O", Refused("just some text, long enough"u8.ToArray()).Message);
        Assert.Contains("empty", Refused([]).Message);
        var noId = File.ReadAllBytes(Native.Compile("functions.c", "-O1 -Wl,--build-id=none"));
        Assert.Contains("without a GNU build-id", Refused(noId).Message);
        var library = File.ReadAllBytes(Native.Compile("libshapes.c", "-O1 -g -shared -fPIC"));
        Assert.Contains("larger than the 1000 bytes", Refused(library, 1000).Message);
        var truncated = library.AsSpan(0, library.Length / 3).ToArray();
        var error = Refused(truncated);
        Assert.StartsWith("upload.bin: ", error.Message);
        Assert.Empty(store.Ids());
        Assert.Empty(Directory.GetFileSystemEntries(store.Directory));
    }

    [Fact]
    public void UploadsAbandonedByADeadProcessAreRemovedButRecentOnesAreLeftAlone()
    {
        var folder = Path.Combine(_folder.FullName, "symbols");
        Directory.CreateDirectory(folder);
        var abandoned = Path.Combine(folder, ".incoming-abandoned");
        var recent = Path.Combine(folder, ".incoming-recent");
        File.WriteAllText(abandoned, "half an upload");
        File.WriteAllText(recent, "an upload in progress");
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow.AddHours(-2));
        NewStore();
        Assert.False(File.Exists(abandoned));
        Assert.True(File.Exists(recent));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("not-hex-at-all")]
    public void IdsThatAreNotHexFindNothing(string id)
    {
        Assert.Null(NewStore().Find(id));
    }

    [Fact]
    public void MatrixFramesGetNamesAndLinesFromTheStoreByUuid()
    {
        var store = NewStore();
        var universal = MachOBuild.Universal("machlib.c");
        store.Add(universal);
        var arm = MachOBuild.Uuids(universal)["arm64"];
        var intel = MachOBuild.Uuids(universal)["x86_64"];
        var armEntry = MachOBuild.NmFunctions(universal, "arm64").Single(f => f.Name == "mach_entry");
        var intelHidden = MachOBuild.NmFunctions(universal, "x86_64").Single(f => f.Name == "mach_hidden");
        var symbolizer = new Symbolizer(new SymbolizerOptions { Store = store, DebugDirectories = [] });

        // As a Matrix report sends them: no path on this machine, an iOS-style UUID, offset from __TEXT.
        var request = new SymbolizeRequest
        {
            Modules = [new ModuleInfo("/var/containers/Bundle/Application/X/Demo.app/Demo", arm.ToUpperInvariant()), new ModuleInfo(null, intel)],
            Frames = [new FrameRef(0, armEntry.Address + 4), new FrameRef(1, intelHidden.Address)],
        };
        var result = symbolizer.Symbolize(request);
        Assert.Equal("mach_entry", result.Frames[0].Function);
        Assert.Equal(4UL, result.Frames[0].SymbolOffset);
        Assert.Equal("mach_hidden", result.Frames[1].Function);
        Assert.Contains("no DWARF", result.Frames[0].LineProblem);

        // Once the dSYM is uploaded, the same frames get file and line (llvm-symbolizer reads Mach-O DWARF).
        store.Add(MachOBuild.DsymCompanion(MachOBuild.Link("machlib.c", "arm64")));
        var withDsym = new Symbolizer(new SymbolizerOptions { Store = store, DebugDirectories = [] }).Symbolize(request);
        Assert.Equal("mach_entry", withDsym.Frames[0].Function);
        Assert.EndsWith("machlib.c", withDsym.Frames[0].File);
        Assert.InRange(withDsym.Frames[0].Line!.Value, Native.MarkedLine("machlib.c", "mach_entry"), Native.MarkedLine("machlib.c", "mach_entry") + 1);
    }

    [Fact]
    public void ExecutableOffsetsAreFromTheTextSegmentNotFromZero()
    {
        var store = NewStore();
        var executable = MachOBuild.Link("machlib.c", "x86_64", executable: true);
        store.Add(executable);
        var helper = MachOBuild.NmFunctions(executable, "x86_64").Single(f => f.Name == "mach_helper");
        Assert.True(helper.Address > 0x1_0000_0000);
        var result = new Symbolizer(new SymbolizerOptions { Store = store }).Symbolize(new SymbolizeRequest
        {
            Modules = [new ModuleInfo(null, MachOBuild.Uuids(executable)["x86_64"])],
            Frames = [new FrameRef(0, helper.Address - 0x1_0000_0000 + 1)],
        });
        Assert.Equal("mach_helper", result.Frames[0].Function);
        Assert.Equal(1UL, result.Frames[0].SymbolOffset);
    }

    [Fact]
    public void LinuxModulesWithoutAPathHereAreNamedFromTheStore()
    {
        var store = NewStore();
        var binary = Native.Compile("functions.c", "-O0 -g");
        store.Add(binary);
        var leaf = Native.NmFunctions(binary).Single(f => f.Name == "leaf_add");
        var result = new Symbolizer(new SymbolizerOptions { Store = store, DebugDirectories = [] }).Symbolize(new SymbolizeRequest
        {
            Modules = [new ModuleInfo("/home/someone/build/app-that-is-not-here", Native.ReadelfBuildId(binary))],
            Frames = [new FrameRef(0, leaf.Address)],
        });
        Assert.Equal("leaf_add", result.Frames[0].Function);
        Assert.Equal(Native.MarkedLine("functions.c", "leaf_add"), result.Frames[0].Line);
        Assert.Contains("does not exist on this machine", result.Modules[0].Note);
    }
}
