namespace ManagedLeaks;

/// <summary>One symbol of the feed, with the event its watchers subscribe to.</summary>
public sealed class TickerSymbol
{
    public event EventHandler<double>? PriceChanged;

    public void Publish(double price) => PriceChanged?.Invoke(this, price);

    public void Clear() => PriceChanged = null;
}
