using System.Buffers.Binary;
using CsCheck;
using Foom.Storage.Tests.Support;

using Foom.Testing;

namespace Foom.Storage.Tests;

/// <summary>
/// The tables' readers against damaged files (CsCheck, FOOM_FUZZ_CASES cases, 1000 in the
/// suite): a byte changed, an 8-byte field set to an extreme, or a file cut short, in the
/// header or the records of any table. Opening and reading everything (live allocations, every
/// stack's frames, modules, categories) gives the session or a SessionFormatException naming
/// the file, never another exception.
/// </summary>
public sealed class TableFuzzTests : IDisposable
{
    private const int HeaderSize = 4096;
    private readonly TempDirectory _pristine = new();
    private readonly TempDirectory _work = new();
    private readonly (string Name, byte[] Bytes)[] _files;

    private readonly ITestOutputHelper _output;

    public TableFuzzTests(ITestOutputHelper output)
    {
        _output = output;
        // Small tables (the sample holds 100 blocks and 2 stacks), so that each case copies little.
        using (var tables = SessionTables.Create(_pristine.Path, initialLiveSlots: 256, initialStackNodes: 256)) SessionTablesTests.WriteSample(tables);
        _files = Directory.GetFiles(_pristine.Path, "*.foom").Select(path => (Path.GetFileName(path), File.ReadAllBytes(path))).ToArray();
    }

    public void Dispose()
    {
        _pristine.Dispose();
        _work.Dispose();
    }

    private static readonly ulong[] Extremes = [0, 1, ulong.MaxValue, long.MaxValue, (ulong)int.MaxValue + 1, uint.MaxValue, 0x8000_0000_0000_0000];

    private enum Damage { Byte, Extreme, Cut }

    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("FOOM_FUZZ_CASES"), out var cases) && cases > 0 ? cases : 1000;

    [Fact]
    public void ADamagedTableIsReadOrRefusedNamingItsFileNeverACrash()
    {
        int read = 0, refused = 0;
        var damage = Gen.Select(Gen.Int[0, _files.Length - 1], Gen.Enum<Damage>(), Gen.Frequency((1, Gen.Int[0, HeaderSize - 1]), (1, Gen.Int[HeaderSize, int.MaxValue])), Gen.Int[0, 255]);
        // One directory, so one case at a time.
        damage.Sample((file, kind, where, value) =>
        {
            foreach (var (name, bytes) in _files) File.WriteAllBytes(_work.File(name), bytes);
            var (damaged, original) = _files[file];
            var at = where < HeaderSize ? where : HeaderSize + where % Math.Max(1, original.Length - HeaderSize);
            var changed = (byte[])original.Clone();
            switch (kind)
            {
                case Damage.Byte when at < changed.Length:
                    changed[at] = (byte)value;
                    break;
                case Damage.Extreme when at + 8 <= changed.Length:
                    BinaryPrimitives.WriteUInt64LittleEndian(changed.AsSpan(at & ~7), Extremes[value % Extremes.Length]);
                    break;
                case Damage.Cut:
                    changed = changed[..Math.Min(at, changed.Length)];
                    break;
            }
            File.WriteAllBytes(_work.File(damaged), changed);
            try
            {
                using var reader = SessionTables.Open(_work.Path);
                foreach (var allocation in reader.Live.Allocations)
                {
                    if (reader.Stacks.Contains(allocation.StackId)) _ = reader.Stacks.FramesOf(allocation.StackId);
                }
                for (var stack = 0; stack < reader.Stacks.NodeCount; stack++) _ = reader.Stacks.FramesOf(stack);
                _ = reader.Modules.All.Sum(module => module.Path.Length);
                _ = reader.Categories.Names.Sum(name => name.Length);
                read++;
            }
            catch (SessionFormatException e) when (e.Message.Length > 0)
            {
                refused++;
            }
        }, iter: Cases, threads: 1);
        var counts = $"{read + refused} damaged sessions: read {read}, refused {refused} with a SessionFormatException, 0 other exceptions";
        _output.WriteLine(counts);
        Assert.True(read > 0 && refused > 0, counts);
    }
}
