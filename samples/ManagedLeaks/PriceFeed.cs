using System.Runtime.CompilerServices;

namespace ManagedLeaks;

/// <summary>
/// (d) A leak through event handlers: every watcher subscribes to a long-lived feed's symbol and
/// never unsubscribes, so the feed's events hold every watcher ever opened.
/// </summary>
public sealed class PriceFeed : ILeak
{
    /// <summary>A watcher with its history and its delegate: about 1 KB.</summary>
    private const int WatcherBytes = 1000;
    private readonly TickerSymbol[] _symbols = [.. Enumerable.Range(0, 1000).Select(_ => new TickerSymbol())];
    private long _opened;

    public long Grow(long bytes)
    {
        var count = bytes / WatcherBytes;
        for (var i = 0; i < count; i++) OpenWatcher(_symbols[_opened++ % _symbols.Length]);
        _symbols[_opened % _symbols.Length].Publish(_opened);
        return bytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OpenWatcher(TickerSymbol symbol) => symbol.PriceChanged += new PriceWatcher().OnPrice;

    public void Release()
    {
        foreach (var symbol in _symbols) symbol.Clear();
    }
}
