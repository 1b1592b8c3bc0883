namespace Foom.Managed;

/// <summary>
/// At most <c>capacity</c> events: the first ones, and the newest in the last place (a program
/// that throws thousands keeps what started it and where it is now), with the count of all.
/// </summary>
internal sealed class BoundedEvents<T>(int capacity)
{
    private readonly List<T> _kept = [];

    public long Total { get; private set; }

    public void Add(T item)
    {
        Total++;
        if (_kept.Count < capacity) _kept.Add(item);
        else _kept[^1] = item;
    }

    public List<T> ToList() => [.. _kept];
}
