namespace ManagedLeaks;

/// <summary>A view that watches prices; it holds its own history, and the feed's event holds it.</summary>
public sealed class PriceWatcher
{
    private readonly double[] _history = new double[100];
    private int _next;

    public void OnPrice(object? sender, double price) => _history[_next++ % _history.Length] = price;
}
