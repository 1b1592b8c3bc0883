using System.Text.Json;
using Foom.Storage;
using Foom.Storage.Sessions;
using Foom.Storage.Stacks;

namespace Foom.Report.Tests.Support;

/// <summary>
/// A big session written through the real storage engine, shaped like a real heap: stacks that
/// share their outer frames (main, a few subsystems, their callees), 8 to 48 frames deep with a
/// few deeper than 64; each stack allocating one to three sizes from a skewed set of ~300 sizes
/// (mostly small, a few of many KiB or MiB); allocations spread over stacks by a Zipf-like law,
/// so a few stacks hold most blocks. Deterministic for a seed. Used by the report's budget test
/// and by the report benchmark (bench/Foom.Benchmarks links this file).
/// </summary>
public static class SyntheticSession
{
    public static void Write(string directory, int allocations, int stacks, int seed = 1)
    {
        var random = new Random(seed);
        var sizes = SizeClasses(random);
        using (var tables = SessionTables.Create(directory, initialLiveSlots: allocations + 1024, initialStackNodes: stacks * 16))
        {
            var main = tables.Modules.Load("/opt/big/bin/big", "b16b16b16b16b16b16b16b16b16b16b16b16b16b", 0x5555_0000_0000, 0x5555_0000_0000, 0x100_0000);
            var libc = tables.Modules.Load("/usr/lib/x86_64-linux-gnu/libc.so.6", "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00", 0x7f00_0000_0000, 0x7f00_0000_0000, 0x1c_0000);
            var libs = Enumerable.Range(0, 8).Select(i =>
                tables.Modules.Load($"/usr/lib/libpart{i}.so.1", $"{i + 1:x2}" + new string('7', 38), 0x7f10_0000_0000 + (ulong)i * 0x100_0000, 0x7f10_0000_0000 + (ulong)i * 0x100_0000, 0x80_0000)).ToArray();

            var stackIds = new int[stacks];
            var stackSizes = new ulong[stacks][];
            var frames = new List<Frame>();
            for (var s = 0; s < stacks; s++)
            {
                frames.Clear();
                var depth = random.Next(100) < 3 ? random.Next(65, 90) : random.Next(8, 49);
                frames.Add(new Frame(libc, 0x9a0e0));                                    // malloc
                // Inner frames: mostly distinct per stack.
                for (var d = 1; d < depth - 4; d++)
                {
                    var module = random.Next(3) == 0 ? libs[random.Next(libs.Length)] : main;
                    frames.Add(new Frame(module, (ulong)random.Next(0x1000, 0x7f_0000) & ~3UL));
                }
                // Outer frames: shared, as every stack starts in main and a few subsystems.
                var subsystem = (ulong)(s % 16);
                frames.Add(new Frame(main, 0x20_0000 + subsystem * 0x400 + (ulong)(s % 7) * 0x10));
                frames.Add(new Frame(main, 0x10_0000 + subsystem * 0x100));
                frames.Add(new Frame(main, 0x1400));                                      // run
                frames.Add(new Frame(main, 0x1000));                                      // main
                stackIds[s] = tables.Stacks.Intern(frames.ToArray());
                stackSizes[s] = Enumerable.Range(0, random.Next(1, 4)).Select(_ => sizes[Skewed(random, sizes.Length)]).ToArray();
            }

            ulong address = 0x1000_0000;
            for (var a = 0; a < allocations; a++)
            {
                var s = Skewed(random, stacks);
                var size = stackSizes[s][random.Next(stackSizes[s].Length)];
                tables.Live.InsertHeap(address, size, stackIds[s]);
                address += ((size + 15) & ~15UL) + 16;
            }
        }

        var info = new SessionInfo
        {
            SessionId = Path.GetFileName(directory), AppId = "big", AppVersion = "1.0", StartTime = 1_760_000_000_000,
            Host = "bench", KernelRelease = "6.1.0", MainBinary = "/opt/big/bin/big", MainBuildId = "b16b16b16b16b16b16b16b16b16b16b16b16b16b",
            Limit = new MemoryLimit { Bytes = 8L << 30, Source = "cgroup-v2" },
            End = new SessionEnd { EndTime = 1_760_000_060_000, ExitStatus = 137, Signal = 9, ExitReason = "foreground_oom", How = "observed", Evidence = ["synthetic"] },
        };
        File.WriteAllBytes(Path.Combine(directory, "session.json"), JsonSerializer.SerializeToUtf8Bytes(info));
    }

    /// <summary>~300 sizes: every 16 bytes to 512, then spaced to 64 KiB, and a few of MiB.</summary>
    private static ulong[] SizeClasses(Random random)
    {
        var sizes = new List<ulong>();
        for (ulong s = 8; s <= 512; s += 16) sizes.Add(s);
        while (sizes.Count < 290) sizes.Add((ulong)random.Next(513, 64 * 1024));
        for (var i = 0; i < 10; i++) sizes.Add((ulong)random.Next(1 << 20, 8 << 20));
        return sizes.ToArray();
    }

    /// <summary>An index in [0, n) where small indices are much likelier (roughly Zipf).</summary>
    private static int Skewed(Random random, int n) => (int)Math.Min(n - 1, Math.Floor(Math.Pow(n + 1, random.NextDouble())) - 1);
}
