using System.Diagnostics;
using System.Globalization;

namespace ManagedLeaks;

/// <summary>
/// Leaks memory in one of the ordinary ways until it dies, at a chosen rate:
/// <c>ManagedLeaks SHAPE [--rate MB] [--catch]</c>. Shapes: <c>list</c> (small orders kept in a
/// List), <c>arrays</c> (50 MB buffers), <c>strings</c> (a Dictionary cache of strings),
/// <c>events</c> (watchers subscribed to a static event and never removed), <c>native</c>
/// (Marshal.AllocHGlobal), <c>server</c> (an ASP.NET Core minimal API whose cache grows with each
/// PUT, on 127.0.0.1 at the port it prints). <c>--rate MB</c> grows by that many megabytes a second
/// (0, the default, as fast as it can). <c>--catch</c> catches the OutOfMemoryException, drops
/// what it holds, says so, and goes on: the program survives its memory death.
/// </summary>
public static class Program
{
    /// <summary>One step of growth: small enough that a slow rate is smooth.</summary>
    private const long StepBytes = 1 << 20;

    public static int Main(string[] args)
    {
        if (args.Length == 0) return Usage("no shape");
        var rateMb = 0.0;
        var catchOom = false;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--rate" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate >= 0:
                    rateMb = rate; i++; break;
                case "--catch":
                    catchOom = true; break;
                default:
                    return Usage($"unknown or malformed option '{args[i]}'");
            }
        }
        if (args[0] == "server") return CacheServer.Run(args);
        ILeak? leak = args[0] switch
        {
            "list" => new OrderBook(),
            "arrays" => new ImageBuffers(),
            "strings" => new ResponseCache(),
            "events" => new PriceFeed(),
            "native" => new NativeBuffers(),
            _ => null,
        };
        if (leak is null) return Usage($"unknown shape '{args[0]}'");
        Console.WriteLine($"ManagedLeaks: pid {Environment.ProcessId}, {args[0]}, " +
                          (rateMb > 0 ? $"{rateMb.ToString(CultureInfo.InvariantCulture)} MB/s" : "as fast as it can"));
        var clock = Stopwatch.StartNew();
        long grown = 0;
        var lastSaid = 0L;
        while (true)
        {
            if (rateMb > 0 && grown > clock.Elapsed.TotalSeconds * rateMb * (1 << 20))
            {
                Thread.Sleep(10);
                continue;
            }
            try
            {
                grown += leak.Grow(StepBytes);
            }
            catch (OutOfMemoryException caught) when (catchOom)
            {
                // Dropped first: with the heap full, even the message below could not be allocated.
                leak.Release();
                GC.Collect();
                Console.WriteLine($"caught {caught.GetType().FullName} after {grown >> 20} MB: {caught.Message}; dropped everything");
                grown = 0;
                clock.Restart();
            }
            if (grown >> 20 >= lastSaid + 50)
            {
                lastSaid = grown >> 20;
                Console.WriteLine($"grown {lastSaid} MB");
            }
        }
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"ManagedLeaks: {problem} (usage: ManagedLeaks list|arrays|strings|events|native|server [--rate MB] [--catch])");
        return 2;
    }
}
