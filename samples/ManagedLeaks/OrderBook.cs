using System.Runtime.CompilerServices;

namespace ManagedLeaks;

/// <summary>(a) Many small objects of one type in a List: an order book that never drops filled orders.</summary>
public sealed class OrderBook : ILeak
{
    private const int OrderBytes = 48;
    private readonly List<Order> _orders = [];

    public long Grow(long bytes)
    {
        var count = bytes / (OrderBytes + IntPtr.Size);
        for (var i = 0; i < count; i++) AddOrder(_orders.Count);
        return bytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddOrder(long id) => _orders.Add(new Order(id, id * 0.01m));

    public void Release() => _orders.Clear();
}
