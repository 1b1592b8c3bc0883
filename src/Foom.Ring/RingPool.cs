namespace Foom.Ring;

/// <summary>
/// The spare rings of a run's other processes (foom_ring.h, "the run's process tree"): files
/// <c>rings/0.ring</c>, <c>rings/1.ring</c>, ... beside the run's ring, each created and touched
/// before it is offered (so a process that claims one pays nothing for it), then offered by raising
/// the run ring's <c>pool_created</c>. A process of the run that is not the program claims the next
/// index with a compare-and-swap on <c>pool_claimed</c>; <see cref="TakeClaimed"/> hands the
/// claimed rings to the recorder, and <see cref="Replenish"/> keeps <see cref="Spares"/> ready.
/// Only the recorder's thread of the process tree calls it.
/// </summary>
public sealed class RingPool : IDisposable
{
    /// <summary>The folder beside the run's ring that holds the pool, as the hook derives it.</summary>
    public const string DirectoryName = "rings";

    private readonly EventRing _run;
    private readonly long _dataSize;
    private readonly Dictionary<int, EventRing> _offered = [];
    private int _handedOut;

    public RingPool(EventRing run, int spares, long dataSize)
    {
        _run = run;
        Spares = spares;
        _dataSize = dataSize;
        Directory = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(run.Path))!, DirectoryName);
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>How many unclaimed rings the pool keeps ready.</summary>
    public int Spares { get; }

    public string Directory { get; }

    /// <summary>Rings offered so far (pool_created).</summary>
    public int Created => (int)Volatile.Read(ref _run.Header.PoolCreated);

    /// <summary>Indexes claimed so far (pool_claimed).</summary>
    public int Claimed => (int)Math.Min(Volatile.Read(ref _run.Header.PoolClaimed), (uint)RingLayout.PoolMax);

    /// <summary>Processes that found no spare ring left (pool_exhausted).</summary>
    public int Exhausted => (int)Volatile.Read(ref _run.Header.PoolExhausted);

    public string PathOf(int index) => System.IO.Path.Combine(Directory, $"{index}.ring");

    /// <summary>Makes rings until <see cref="Spares"/> are unclaimed (or the pool's last index is offered); the count made.</summary>
    public int Replenish()
    {
        var made = 0;
        while (Created - Claimed < Spares && Created < RingLayout.PoolMax)
        {
            var index = Created;
            var path = PathOf(index);
            // A file left by an earlier attempt at this index (a failure after its creation) goes first.
            File.Delete(path);
            _offered[index] = EventRing.Create(path, _dataSize, _run.Header.FullWaitMs, (RingOptions)_run.Header.Options);
            Volatile.Write(ref _run.Header.PoolCreated, (uint)index + 1);
            made++;
        }
        return made;
    }

    /// <summary>The rings claimed since the last call, with their indexes, in claim order; the caller owns them from now.</summary>
    public List<(int Index, EventRing Ring)> TakeClaimed()
    {
        var claimed = new List<(int, EventRing)>();
        var upTo = Math.Min(Claimed, Created);
        for (; _handedOut < upTo; _handedOut++)
        {
            if (_offered.Remove(_handedOut, out var ring)) claimed.Add((_handedOut, ring));
        }
        return claimed;
    }

    /// <summary>The pid written for a claimed index (0 until the claiming process has written it).</summary>
    public unsafe int PidOf(int index) =>
        index is < 0 or >= RingLayout.PoolMax ? 0 : Volatile.Read(ref _run.Header.PoolPids[index]);

    /// <summary>Deletes the rings nobody claimed (and the folder when it is empty).</summary>
    public void Dispose()
    {
        foreach (var (index, ring) in _offered)
        {
            ring.Dispose();
            File.Delete(PathOf(index));
        }
        _offered.Clear();
        try
        {
            if (!System.IO.Directory.EnumerateFileSystemEntries(Directory).Any()) System.IO.Directory.Delete(Directory);
        }
        catch (IOException)
        {
            // A claimed ring is still there: its owner's recording removes it, and the folder goes with the session.
        }
    }
}
