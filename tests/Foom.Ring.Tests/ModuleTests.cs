using System.Diagnostics;
using System.Globalization;
using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

public class ModuleTests
{
    private static string Tool(string name, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(name, arguments) { RedirectStandardOutput = true })
            ?? throw new InvalidOperationException($"{name} did not start");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{name} {arguments} failed");
        return output;
    }

    private const string LibraryFlags = "-shared -fPIC -O1 -g -fno-omit-frame-pointer -Wl,--build-id";

    private static async Task<(HookedResult Result, string Plugin)> Run(params string[] more)
    {
        var plugin = CProgram.Build("dl_plugin.c", LibraryFlags, ".so");
        var host = CProgram.Build("dl_host.c", CProgram.WithFramePointers);
        var result = await HookedRun.RunAsync(host, [plugin, .. more]);
        Assert.True(result.ExitCode == 0, result.Describe());
        return (result, plugin);
    }

    [Fact]
    public async Task ADlopenedLibraryIsPublishedWithItsBuildIdBeforeItsAllocations()
    {
        var (result, plugin) = await Run();
        var buildId = Tool("readelf", $"-n \"{plugin}\"").Split('\n').Single(l => l.Contains("Build ID:")).Split(':')[1].Trim();
        var loads = result.Of(RecordKind.ModuleLoad).Where(m => m.Path == plugin).ToList();
        var unloads = result.Of(RecordKind.ModuleUnload).Where(m => m.Path == plugin).ToList();
        Assert.True(loads.Count == 2, $"{plugin} loaded {loads.Count} times; modules: {string.Join(", ", result.Of(RecordKind.ModuleLoad).Select(m => m.Path))}");
        Assert.True(unloads.Count == 2, $"{plugin} unloaded {unloads.Count} times; unloads: {string.Join(", ", result.Of(RecordKind.ModuleUnload).Select(m => m.Path))}");
        Assert.All(loads.Concat(unloads), m => Assert.Equal(buildId, m.BuildId));

        var allocations = result.Of(RecordKind.Alloc).Where(e => e.Size == 9999).ToList();
        Assert.Equal(3, allocations.Count);
        var functions = result.Functions;
        for (var round = 0; round < 2; round++)
        {
            var load = loads[round];
            // The library may come back at the same address: attribute by the load it happened under.
            var mine = allocations.Where(e => load.Position < e.Position && e.Position < unloads[round].Position).ToList();
            Assert.Equal(round == 0 ? 2 : 1, mine.Count);
            var entry = functions.AddressOf($"plugin_alloc{round}");
            Assert.All(mine, e => Assert.InRange(e.Frames[0], entry, entry + 64));
            Assert.All(mine, e => Assert.Equal(["use", "main"], functions.Names(e.Frames.Skip(1).Take(2))));
            Assert.True(load.Start <= mine[0].Frames[0] && mine[0].Frames[0] < load.Start + load.Size);
            Assert.Equal((load.Base, load.Start, load.Size), (unloads[round].Base, unloads[round].Start, unloads[round].Size));

            // The contract: pc - base is the ELF virtual address, as the symbol table has it.
            var symbol = Tool("nm", $"\"{plugin}\"").Split('\n').Single(l => l.EndsWith(" plugin_alloc", StringComparison.Ordinal));
            var virtualAddress = ulong.Parse(symbol.Split(' ')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            Assert.Equal(virtualAddress, functions.AddressOf($"plugin_alloc{round}") - load.Base);
        }
    }

    [Fact]
    public async Task UnloadingAModuleMakesEveryThreadSendItsStacksInFullAgain()
    {
        var (result, _) = await Run();
        var allocations = result.Of(RecordKind.Alloc).Where(e => e.Size == 9999).ToList();
        Assert.True(allocations[0].Flags.HasFlag(RecordFlags.FullStack));
        Assert.False(allocations[1].Flags.HasFlag(RecordFlags.FullStack), "the same stack twice in a row went in full");
        Assert.Equal(allocations[0].StackHash, allocations[1].StackHash);
        // After the dlclose (the library may come back at the same address) the stack goes in full,
        // under a new hash: the consumer never has to guess which module an old hash meant.
        Assert.True(allocations[2].Flags.HasFlag(RecordFlags.FullStack));
        Assert.NotEqual(allocations[0].StackHash, allocations[2].StackHash);
        Assert.Equal(0, result.UnknownStacks);
        Assert.Equal(0ul, result.Counters.UnknownStacks);
    }

    [Fact]
    public async Task TheInitialModulesArePublishedAtAttachWithBuildIds()
    {
        var (result, _) = await Run();
        var attach = result.Events[0];
        Assert.Equal(RecordKind.Attach, attach.Kind);
        var initial = result.Of(RecordKind.ModuleLoad).Where(m => m.Source == EventSource.Startup).ToList();
        var main = initial.Single(m => m.ModuleFlags.HasFlag(ModuleFlags.MainProgram));
        Assert.Equal(attach.Path, main.Path);
        Assert.True(main.ModuleFlags.HasFlag(ModuleFlags.FramePointers), "the host is built with frame pointers");
        var libc = initial.Single(m => Path.GetFileName(m.Path) == "libc.so.6");
        Assert.False(libc.ModuleFlags.HasFlag(ModuleFlags.FramePointers), "Debian's libc has no frame pointers");
        Assert.All(initial.Where(m => !m.ModuleFlags.HasFlag(ModuleFlags.Vdso)), m => Assert.Equal(40, m.BuildId.Length));
        Assert.All(initial, m => Assert.True(m.Start % 4096 == 0 && m.Size > 0 && m.Base <= m.Start));
    }

    [Fact]
    public async Task ALibraryThatNeverAllocatesIsPublishedBeforeTheLoadingThreadsNextEvent()
    {
        var quiet = CProgram.Build("dl_quiet.c", LibraryFlags, ".so");
        var (result, _) = await Run(quiet);
        var load = Assert.Single(result.Of(RecordKind.ModuleLoad), m => m.Path == quiet);
        var next = Assert.Single(result.Of(RecordKind.Alloc), e => e.Size == 31);
        Assert.True(load.Position < next.Position, "the quiet library was published only after the allocation that followed its dlopen");
        Assert.Equal(EventSource.Dlopen, load.Source);
    }
}
