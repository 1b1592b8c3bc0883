using Foom.Report.Building;

namespace Foom.Report.Tests.Support;

/// <summary>
/// A live heap built block by block for the assembler's tests: stacks of made-up frames in two
/// modules (the app and libc), heap blocks, mappings and typed objects.
/// </summary>
internal sealed class TestHeap(long sampleBytes = 0)
{
    public const string AppBuildId = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    public const string LibcBuildId = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";

    private readonly Dictionary<uint, RawFrame[]> _stacks = new();
    private readonly Dictionary<CategoryKey, string> _names = new();

    /// <summary>The heap; a sampled run's when <c>sampleBytes</c> is above 0 (its blocks are then the sampled ones).</summary>
    public LiveHeap Heap { get; } = new(sampleBytes);

    public List<ModuleRecord> Modules { get; } =
    [
        new(0, "/opt/app/bin/app", AppBuildId, 0x55550000_0000, 0x20_0000, IsMain: true),
        new(1, "/usr/lib/x86_64-linux-gnu/libc.so.6", LibcBuildId, 0x7f00_0000_0000, 0x1c_0000, IsMain: false),
        new(2, "/usr/lib/libunused.so", null, 0x7f10_0000_0000, 0x1_0000, IsMain: false),
    ];

    /// <summary>A stack whose innermost frame is libc's malloc, then app frames at the given offsets (innermost first).</summary>
    public uint Stack(params ulong[] appOffsets)
    {
        var id = (uint)_stacks.Count + 1;
        var frames = new List<RawFrame> { new(1, 0x9a0e0) };
        frames.AddRange(appOffsets.Select(o => new RawFrame(0, o)));
        _stacks[id] = frames.ToArray();
        return id;
    }

    /// <summary>A stack of exactly <paramref name="depth"/> app frames.</summary>
    public uint DeepStack(int depth, ulong seed)
    {
        var id = (uint)_stacks.Count + 1;
        _stacks[id] = Enumerable.Range(0, depth).Select(i => new RawFrame(0, seed * 0x1000 + (ulong)i * 8)).ToArray();
        return id;
    }

    public void Malloc(uint stack, long size, int times = 1)
    {
        for (var i = 0; i < times; i++) Heap.Add(BlockKind.Malloc, 0, stack, size);
    }

    public void Mapping(uint stack, int kindId, string kind, long size)
    {
        _names[new CategoryKey(BlockKind.Mapping, kindId)] = kind;
        Heap.Add(BlockKind.Mapping, kindId, stack, size);
    }

    public void Typed(uint stack, int typeId, string type, long size, int times = 1)
    {
        _names[new CategoryKey(BlockKind.Type, typeId)] = type;
        for (var i = 0; i < times; i++) Heap.Add(BlockKind.Type, typeId, stack, size);
    }

    public HeapContext Context => new()
    {
        CategoryName = key => _names[key],
        Frames = id => _stacks[id],
        Modules = Modules,
    };

    public Model.Report Build(ReportOptions? options = null) =>
        ReportAssembler.Assemble(Heap, Context, options ?? new ReportOptions { FindCaller = FirstAppFrame });

    /// <summary>A small Linux report of app "chat": two malloc stacks and an anonymous mapping.</summary>
    public static Model.Report LinuxReport()
    {
        var heap = new TestHeap();
        var a = heap.Stack(0x10, 0x20);
        heap.Malloc(a, 100, 50);
        heap.Malloc(heap.Stack(0x30), 5000, 2);
        heap.Mapping(a, 1, "anonymous", 1 << 20);
        var report = heap.Build();
        report.Head.Platform = "linux";
        report.Head.ReportId = "s-20250101-0001";
        report.Head.AppId = "chat";
        return report;
    }

    /// <summary>A caller rule for the tests: the first frame outside libc.</summary>
    public static int FirstAppFrame(IReadOnlyList<Model.ReportFrame> frames, Func<string, string?> moduleName)
    {
        for (var i = 0; i < frames.Count; i++)
            if (moduleName(frames[i].Uuid) is not { } name || !name.StartsWith("libc", StringComparison.Ordinal)) return i;
        return frames.Count - 1;
    }
}
