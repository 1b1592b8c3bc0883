using CsCheck;
using Foom.Storage.Live;
using Foom.Storage.Tests.Support;
using Foom.Testing;

namespace Foom.Storage.Tests;

/// <summary>
/// LiveAllocations against <see cref="LiveModel"/> over long random operation sequences with
/// address reuse, replacements, partial unmaps, splits and maps over existing mappings.
/// </summary>
public class LiveAllocationsPropertyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly Gen<LiveOp> OpGen = Gen.Frequency(
        (38, Gen.Select(Gen.Int[0, 300], Gen.Frequency((40, Gen.ULong[0, 4096]), (1, Gen.ULong[uint.MaxValue - 10UL, uint.MaxValue + 100_000UL])), Gen.Int[1, 3000], Gen.Int[0, 60],
            (slot, size, stack, category) => new LiveOp(LiveOpKind.InsertHeap, LiveOp.HeapBase + (ulong)slot * 16, size, stack, category))),
        (32, Gen.Int[0, 300].Select(slot => new LiveOp(LiveOpKind.RemoveHeap, LiveOp.HeapBase + (ulong)slot * 16, 0, 0, 0))),
        (4, Gen.Select(Gen.Int[0, 300], Gen.Int[0, 65535], (slot, category) => new LiveOp(LiveOpKind.UpdateCategory, LiveOp.HeapBase + (ulong)slot * 16, 0, 0, category))),
        (11, Gen.Select(Gen.Int[0, 80], Gen.ULong[1, 16 * LiveOp.Page], Gen.Int[1, 3000], Gen.Int[0, 60],
            (page, length, stack, category) => new LiveOp(LiveOpKind.InsertMapping, LiveOp.MapBase + (ulong)page * LiveOp.Page, length, stack, category))),
        (11, Gen.Select(Gen.Int[0, 80], Gen.ULong[1, 12 * LiveOp.Page],
            (page, length) => new LiveOp(LiveOpKind.UnmapRange, LiveOp.MapBase + (ulong)page * LiveOp.Page, length, 0, 0))),
        (2, Gen.Int[0, 300].Select(slot => new LiveOp(LiveOpKind.LookupHeap, LiveOp.HeapBase + (ulong)slot * 16, 0, 0, 0))),
        (2, Gen.ULong[0, 90 * LiveOp.Page].Select(offset => new LiveOp(LiveOpKind.LookupMapping, LiveOp.MapBase + offset, 0, 0, 0))));

    [Fact]
    public void EveryOperationAgreesWithTheReferenceAndSoDoesTheWholeTable()
    {
        OpGen.Array[200, 3000].Sample(ops =>
        {
            var path = _dir.File(Guid.NewGuid().ToString("N"));
            var model = new LiveModel();
            using (var live = LiveAllocations.Create(path, 16))
            {
                for (var i = 0; i < ops.Length; i++)
                {
                    var expected = ops[i].Apply(model);
                    var actual = ops[i].Apply(live);
                    if (!Equals(expected, actual))
                        throw new Exception($"op {i} {ops[i]}: engine gave {actual}, reference {expected}");
                    if (i % 250 == 0) Assert.Equal(model.All(), LiveAllocationsTests.Enumerate(live));
                }
                Assert.Equal(model.All(), LiveAllocationsTests.Enumerate(live));
                Assert.Equal(model.Heap.Count, live.HeapCount);
                Assert.Equal(model.Mappings.Count, live.MappingCount);
                Assert.Equal(model.Mappings.Values.Sum(m => (long)m.Size), live.MappingBytes);
                Assert.Equal(model.Heap.Values.Sum(m => (long)m.Size), live.HeapBytes);
            }
            var snapshot = LiveSnapshot.Read(path, writerRunning: false);
            Assert.Equal(model.All(), snapshot.Allocations.ToArray());
            File.Delete(path);
        }, iter: 60);
    }

    [Fact]
    public void ATableLeftByAKilledWriterReadsAsTheCompletedOperations()
    {
        OpGen.Array[50, 1500].Sample(ops =>
        {
            var path = _dir.File(Guid.NewGuid().ToString("N"));
            var model = new LiveModel();
            var live = LiveAllocations.Create(path, 16);
            foreach (var op in ops)
            {
                op.Apply(model);
                op.Apply(live);
            }
            live.Abandon();
            var snapshot = LiveSnapshot.Read(path, writerRunning: false);
            Assert.Equal(WriterStatus.Interrupted, snapshot.Status);
            Assert.Equal(model.All(), snapshot.Allocations.ToArray());
            File.Delete(path);
        }, iter: 40);
    }

    /// <summary>
    /// Stops the writer (as a kill would) at every step of journaled operations: after the
    /// journal's commit, after its stores, after each removal inside a range, before it is
    /// cleared. The reader must see the operation wholly applied.
    /// </summary>
    [Fact]
    public void AWriterStoppedInsideAMultiRecordOperationReadsAsIfItHadCompleted()
    {
        var cases = 0;
        Gen.Select(OpGen.Array[20, 400], Gen.Int[0, 399], Gen.Int[1, 4], Gen.Int[0, 3]).Sample((ops, stopAt, step, removals) =>
        {
            var path = _dir.File(Guid.NewGuid().ToString("N"));
            var model = new LiveModel();
            var live = LiveAllocations.Create(path, 16);
            var stopped = false;
            for (var i = 0; i < ops.Length && !stopped; i++)
            {
                ops[i].Apply(model);
                if (i >= stopAt)
                {
                    var seen = 0;
                    live.JournalStepHook = s =>
                    {
                        if (s == step && (s != 3 || seen++ == removals)) throw new SimulatedKill();
                    };
                }
                try
                {
                    ops[i].Apply(live);
                }
                catch (SimulatedKill)
                {
                    stopped = true;
                    cases++;
                }
            }
            live.Abandon();
            var snapshot = LiveSnapshot.Read(path, writerRunning: false);
            Assert.Equal(model.All(), snapshot.Allocations.ToArray());
            File.Delete(path);
        }, iter: 300);
        Assert.True(cases > 50, $"only {cases} runs stopped inside a journaled operation");
    }

    /// <summary>
    /// A writer stopped anywhere, inside a journaled operation or between operations, then a
    /// second writer that resumes the file (LiveAllocations.Resume) and goes on: every answer it
    /// gives and the table it closes are those of one writer that never stopped.
    /// </summary>
    [Fact]
    public void AWriterResumingAfterAStopGoesOnAsIfNoneHadHappened()
    {
        var journaled = 0;
        Gen.Select(OpGen.Array[20, 400], Gen.Int[0, 99], Gen.Int[1, 4], OpGen.Array[1, 400]).Sample((ops, stopPercent, step, more) =>
        {
            var stopAt = ops.Length * stopPercent / 100;
            var path = _dir.File(Guid.NewGuid().ToString("N"));
            var model = new LiveModel();
            var live = LiveAllocations.Create(path, 16);
            for (var i = 0; i < ops.Length; i++)
            {
                ops[i].Apply(model);
                if (i == stopAt) live.JournalStepHook = s => { if (s == step) throw new SimulatedKill(); };
                try
                {
                    ops[i].Apply(live);
                }
                catch (SimulatedKill)
                {
                    journaled++;
                    break;
                }
                if (i == stopAt) break;
            }
            live.Abandon();

            var notes = new List<string>();
            using (var resumed = LiveAllocations.Resume(path, notes))
            {
                Assert.Contains(notes, note => note.Contains("rebuilt from the in-use marks"));
                foreach (var op in more)
                    Assert.Equal(op.Apply(model), op.Apply(resumed));
                Assert.Equal((model.Heap.Count, model.Mappings.Count), (resumed.HeapCount, resumed.MappingCount));
            }
            var snapshot = LiveSnapshot.Read(path, writerRunning: false);
            Assert.Equal(WriterStatus.ClosedCleanly, snapshot.Status);
            Assert.Equal(model.All(), snapshot.Allocations.ToArray());
            File.Delete(path);
        }, iter: 600);
        // About one run in six stops inside a journaled operation (35 ± 6 of 200 in eight runs of
        // 200, and 22 once in CI, under the old bound of 25): 600 runs give ~105 ± 10, and 60 is
        // four and a half deviations below.
        Assert.True(journaled > 60, $"only {journaled} runs stopped inside a journaled operation");
    }

    private sealed class SimulatedKill : Exception;
}
