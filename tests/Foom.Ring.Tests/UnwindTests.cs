using Foom.Ring.Tests.Support;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>The hook's table walk (unwind tables read from .eh_frame, native/foomhook/cfi.c): its
/// stacks against libunwind's, in the same process and across runs, on the test programs and on
/// real Debian programs; and the stacks it cannot follow (a signal frame, JIT code, a stack of
/// the program's own, more than 64 frames), with libunwind and without it.</summary>
public class UnwindTests
{
    private static bool TableWalked(RecordedEvent e) =>
        e.Flags.HasFlag(RecordFlags.UnwindTables) && !e.Flags.HasFlag(RecordFlags.Libunwind);

    [Fact]
    public async Task ProgramsWithoutFramePointersAreUnwoundByTheTableWalkFrameForFrameAsLibunwindDoes()
    {
        var binary = CProgram.Build("alloc_sites.c", CProgram.WithoutFramePointers, "-nofp");
        var walked = await HookedRun.RunAsync(binary, [], new HookedRunOptions { RingOptions = RingOptions.CheckUnwind });
        var reference = await HookedRun.RunAsync(binary, [], new HookedRunOptions { RingOptions = RingOptions.LibunwindOnly });
        Assert.True(walked.ExitCode == 0, walked.Describe());
        Assert.True(reference.ExitCode == 0, reference.Describe());

        var allocations = walked.Of(RecordKind.Alloc).ToList();
        Assert.All(allocations, e => Assert.False(e.Flags.HasFlag(RecordFlags.UnwindDiffers), $"{e}: libunwind found other frames"));
        var sites = allocations.Where(e => e.Frames.Length > 0 && walked.Functions.NameOf(e.Frames[0]) is { } name && name.StartsWith("site_", StringComparison.Ordinal)).ToList();
        Assert.Equal(100 + 50 + 9 + 5 + 1, sites.Count);
        Assert.All(sites, e => Assert.True(TableWalked(e), $"{e} was not unwound by the table walk"));
        Assert.All(reference.Of(RecordKind.Alloc), e => Assert.True(e.Flags.HasFlag(RecordFlags.Libunwind) || e.Flags.HasFlag(RecordFlags.FramePointers), $"{e}"));

        // Two runs: frames as offsets from main (the load address changes), the whole stack.
        static string[] Relative(HookedResult r, string site) =>
            r.Of(RecordKind.Alloc).First(e => e.Frames.Length > 0 && r.Functions.NameOf(e.Frames[0]) == site)
                .Frames.Select(f => r.Functions.NameOf(f) is null ? "outside" : (f - r.Functions.AddressOf("main")).ToString()).ToArray();
        foreach (var site in new[] { "site_malloc", "site_calloc", "site_realloc", "site_aligned", "site_reallocarray" })
            Assert.Equal(Relative(reference, site), Relative(walked, site));
    }

    public static TheoryData<string, string[], string?> DebianPrograms() => new()
    {
        { "gawk", ["BEGIN { for (i = 0; i < 20000; i++) a[i] = i \"x\"; print length(a) }"], null },
        { "jq", ["-c", "[range(0; 20000) | {a: ., b: (. | tostring)}] | map(.b) | length"], null },
        { "sqlite3", [":memory:", "create table t(a, b); with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000) insert into t select x, hex(randomblob(20)) from c; select count(*) from t;"], null },
        { "python3", ["-c", "import json; d = {str(i): [i, str(i)] for i in range(20000)}; print(len(json.dumps(d)))"], "malloc" },
        { "xz", ["-9e", "-c", "/usr/bin/gawk"], null },
    };

    [Theory]
    [MemberData(nameof(DebianPrograms))]
    public async Task RealProgramsGetTheStacksLibunwindFinds(string program, string[] arguments, string? pythonMalloc)
    {
        var environment = new Dictionary<string, string>();
        if (pythonMalloc is not null) environment["PYTHONMALLOC"] = pythonMalloc;
        var path = "/usr/bin/" + program;
        var result = await HookedRun.RunAsync(path, arguments,
            new HookedRunOptions { RingOptions = RingOptions.CheckUnwind, Environment = environment, Timeout = TimeSpan.FromMinutes(5) });
        Assert.True(result.ExitCode == 0, result.Describe());

        var allocations = result.Of(RecordKind.Alloc).Where(e => e.Frames.Length > 0).ToList();
        var differing = allocations.Where(e => e.Flags.HasFlag(RecordFlags.UnwindDiffers)).ToList();
        Assert.True(differing.Count == 0, $"{differing.Count} of {allocations.Count} stacks differ from libunwind's, first {differing.FirstOrDefault()}");
        // Debian builds without frame pointers: nearly every stack is the table walk's, and the
        // few it hands to libunwind are counted here so a regression shows.
        var walked = allocations.Count(TableWalked);
        var handedOn = allocations.Count(e => e.Flags.HasFlag(RecordFlags.Libunwind));
        Assert.True(walked >= 0.95 * allocations.Count,
            $"{program}: {walked} of {allocations.Count} stacks walked by the tables, {handedOn} handed to libunwind");
    }

    private static async Task<HookedResult> RunCases(string arguments, bool withLibunwind, RingOptions options = RingOptions.CheckUnwind)
    {
        var binary = CProgram.Build("unwind_cases.c", CProgram.WithoutFramePointers, "-nofp");
        var environment = new Dictionary<string, string>();
        using var directory = new TempDirectory();
        if (!withLibunwind)
        {
            File.Copy(CProgram.Build("not_libunwind.c", "-shared -fPIC"), Path.Combine(directory.Path, "libunwind.so.8"));
            environment["LD_LIBRARY_PATH"] = directory.Path;
        }
        var result = await HookedRun.RunAsync(binary, arguments.Split(' '), new HookedRunOptions { RingOptions = options, Environment = environment });
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("done", result.Output);
        return result;
    }

    private static RecordedEvent Allocation(HookedResult result, ulong size) =>
        Assert.Single(result.Of(RecordKind.Alloc), e => e.Size == size);

    [Fact]
    public async Task ASignalFrameIsHandedToLibunwindWhichUnwindsThroughIt()
    {
        var result = await RunCases("signal", withLibunwind: true);
        var e = Allocation(result, 4242);
        Assert.True(e.Flags.HasFlag(RecordFlags.Libunwind), e.ToString());
        var names = result.Functions.Names(e.Frames);
        Assert.Equal("in_handler", names[0]);
        Assert.Contains("before_signal", names);
        Assert.Equal("main", names.Last(n => n != "?"));
    }

    [Fact]
    public async Task WithoutLibunwindAStackEndsAtASignalFrameMarkedTruncated()
    {
        var result = await RunCases("signal", withLibunwind: false);
        var e = Allocation(result, 4242);
        Assert.Equal(RecordFlags.UnwindTables | RecordFlags.Truncated, e.Flags & ~RecordFlags.FullStack);
        var names = result.Functions.Names(e.Frames);
        Assert.Equal("in_handler", names[0]);
        Assert.DoesNotContain("before_signal", names);
        Assert.InRange(e.Frames.Length, 1, 2); // the handler, and the signal trampoline it returns to
    }

    private static (ulong Start, ulong End) JitRange(HookedResult result)
    {
        var parts = result.Output.Split('\n').Single(l => l.StartsWith("jit ", StringComparison.Ordinal)).Split(' ');
        return (Convert.ToUInt64(parts[1], 16), Convert.ToUInt64(parts[2], 16));
    }

    [Fact]
    public async Task WithoutLibunwindAStackEndsInJitCodeMarkedTruncated()
    {
        var result = await RunCases("jit", withLibunwind: false);
        var e = Allocation(result, 4343);
        var (start, end) = JitRange(result);
        Assert.Equal(RecordFlags.UnwindTables | RecordFlags.Truncated, e.Flags & ~RecordFlags.FullStack);
        Assert.InRange(Assert.Single(e.Frames), start, end);
    }

    [Fact]
    public async Task JitCodeIsHandedToLibunwind()
    {
        var result = await RunCases("jit", withLibunwind: true);
        var e = Allocation(result, 4343);
        var (start, end) = JitRange(result);
        Assert.True(e.Flags.HasFlag(RecordFlags.Libunwind), e.ToString());
        Assert.InRange(e.Frames[0], start, end);
    }

    [Fact]
    public async Task AStackOutsideTheThreadsStackEndsAtOnceWithoutLibunwind()
    {
        // The walk reads no stack memory outside the thread's stack: here it reads none at all.
        var result = await RunCases("context", withLibunwind: false);
        var e = Allocation(result, 4444);
        Assert.True(e.Flags.HasFlag(RecordFlags.Truncated), e.ToString());
        Assert.Empty(e.Frames);
        var withLibunwind = await RunCases("context", withLibunwind: true);
        var reference = Allocation(withLibunwind, 4444);
        Assert.True(reference.Flags.HasFlag(RecordFlags.Libunwind), reference.ToString());
        Assert.Equal("on_other_stack", withLibunwind.Functions.NameOf(reference.Frames[0]));
    }

    [Fact]
    public async Task AStackDeeperThan64FramesIsCutAt64LikeLibunwinds()
    {
        var result = await RunCases("deep", withLibunwind: true);
        var e = Allocation(result, 4545);
        Assert.True(TableWalked(e), e.ToString());
        Assert.False(e.Flags.HasFlag(RecordFlags.UnwindDiffers), e.ToString());
        Assert.True(e.Flags.HasFlag(RecordFlags.Truncated), e.ToString());
        Assert.Equal(64, e.Frames.Length);
        Assert.All(result.Functions.Names(e.Frames), n => Assert.Equal("recurse", n));
    }
}
