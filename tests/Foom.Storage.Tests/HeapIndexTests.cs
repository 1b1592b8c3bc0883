using CsCheck;
using Foom.Storage.Live;

namespace Foom.Storage.Tests;

/// <summary>
/// The writer's heap index on its own (open addressing, linear probing, deletion by shifting
/// back): over addresses chosen to collide in a few home buckets, including runs that wrap past
/// the end of the array, every change must keep every live address findable and every absent one
/// absent, and keep linear probing's invariant (no empty entry between an entry's home and it).
/// </summary>
public unsafe class HeapIndexTests
{
    private const int Slots = 64;

    /// <summary>Records for the index to compare addresses against: slot i holds <paramref name="addresses"/>[i - 1].</summary>
    private static LiveNode[] Nodes(ulong[] addresses)
    {
        var nodes = new LiveNode[addresses.Length + 1];
        for (var i = 0; i < addresses.Length; i++) nodes[i + 1].Word = addresses[i] | LiveRecordFormat.InUseFlag;
        return nodes;
    }

    /// <summary>Addresses whose home bucket in an empty index of 32 entries is one of <paramref name="homes"/>, <paramref name="perHome"/> of each.</summary>
    private static ulong[] Colliding(int[] homes, int perHome)
    {
        var probe = new HeapIndex(16);
        Assert.Equal(32, probe.Capacity);
        var found = new List<ulong>();
        var none = new LiveNode[1];
        fixed (LiveNode* n = none)
        {
            foreach (var home in homes)
            {
                var count = 0;
                for (ulong address = 0x10000; count < perHome; address += 16)
                {
                    if (~probe.Find(address, n) != home) continue;
                    found.Add(address);
                    count++;
                }
            }
        }
        return [.. found];
    }

    [Fact]
    public void RunsOfCollidingAddressesThatWrapAroundSurviveAnyOrderOfInsertsAndRemoves()
    {
        // Homes 30 and 31 run past the end of the 32-entry array into 0, 1 and on, where home 1's live too.
        var addresses = Colliding([30, 31, 1], perHome: 4);
        Gen.Int[0, addresses.Length - 1].Array[1, 200].Sample(choices =>
        {
            var nodes = Nodes(addresses);
            var index = new HeapIndex(16);
            var live = new HashSet<int>();
            fixed (LiveNode* n = nodes)
            {
                foreach (var choice in choices)
                {
                    var address = addresses[choice];
                    var position = index.Find(address, n);
                    Assert.Equal(live.Contains(choice), position >= 0);
                    if (position >= 0)
                    {
                        Assert.Equal(choice + 1, index.SlotAt(position));
                        index.RemoveAt(position);
                        live.Remove(choice);
                    }
                    else
                    {
                        Assert.True(index.HasRoom); // 12 addresses never fill half of 32
                        index.InsertAt(~position, address, choice + 1);
                        live.Add(choice);
                    }
                    AssertHolds(index, n, addresses, live);
                }
            }
        }, iter: 300);
    }

    [Fact]
    public void GrowingKeepsEveryEntryAndDoublesTheArray()
    {
        var addresses = Enumerable.Range(0, Slots).Select(i => 0x7f00_0000_0000UL + (ulong)i * 48).ToArray();
        var nodes = Nodes(addresses);
        var index = new HeapIndex(16);
        var live = new HashSet<int>();
        fixed (LiveNode* n = nodes)
        {
            for (var i = 0; i < addresses.Length; i++)
            {
                if (!index.HasRoom)
                {
                    var capacity = index.Capacity;
                    index.Grow();
                    Assert.Equal(2 * capacity, index.Capacity);
                    Assert.Equal(i, index.Count);
                    AssertHolds(index, n, addresses, live);
                }
                var position = index.Find(addresses[i], n);
                Assert.True(position < 0);
                index.InsertAt(~position, addresses[i], i + 1);
                live.Add(i);
            }
            Assert.Equal(128, index.Capacity); // 64 entries: at most half full
            AssertHolds(index, n, addresses, live);
            // Take every other one out again: the runs left behind still find the rest.
            for (var i = 0; i < addresses.Length; i += 2)
            {
                index.RemoveAt(index.Find(addresses[i], n));
                live.Remove(i);
            }
            AssertHolds(index, n, addresses, live);
        }
    }

    private static void AssertHolds(HeapIndex index, LiveNode* n, ulong[] addresses, HashSet<int> live)
    {
        Assert.Equal(live.Count, index.Count);
        for (var i = 0; i < addresses.Length; i++)
        {
            var position = index.Find(addresses[i], n);
            if (!live.Contains(i))
            {
                Assert.True(position < 0, $"0x{addresses[i]:x} was removed but is still found");
                continue;
            }
            Assert.True(position >= 0, $"0x{addresses[i]:x} is live but not found");
            Assert.Equal(i + 1, index.SlotAt(position));
            // Linear probing's invariant: from the address's home to its entry, no entry is empty
            // (an empty one would end a search early). An empty index's answer is the home.
            var home = ~new HeapIndex(index.Capacity / 2).Find(addresses[i], n);
            for (var p = home; p != position; p = (p + 1) & (index.Capacity - 1))
                Assert.True(index.Find(AddressAt(index, n, p), n) == p, $"the run from 0x{addresses[i]:x}'s home {home} to {position} has a gap at {p}");
        }
    }

    /// <summary>The address of the entry at <paramref name="position"/>; fails when that entry is empty.</summary>
    private static ulong AddressAt(HeapIndex index, LiveNode* n, int position)
    {
        var slot = index.SlotAt(position);
        Assert.True(slot != 0, $"entry {position} is empty");
        return LiveRecordFormat.Key(n[slot].Word);
    }
}
