namespace Foom.Managed;

/// <summary>
/// When to take a managed heap census, and how much the target may spend on it. A census forces a
/// blocking gen2 collection and holds its events in the target's memory, so it is taken only when
/// it can explain a death: at memory warnings, and as the footprint nears the limit (from
/// <see cref="NearLimitFraction"/> of it, again at every further tenth of the limit it grows, and
/// at least once a minute while it stays there). The first step is early because a .NET program in
/// a memory cgroup dies of OutOfMemoryException when its GC heap reaches 75 % of the limit (the
/// runtime's default hard limit), and a census needs headroom: started at half the limit, with the
/// GC heap at some 40 % of it, the census's events no longer fitted in half of what was left, and
/// 9 of 13 leaking programs died without one (issue 13). From 30 %, two or three censuses land
/// before the heap reaches the hard limit, the last one when the leak dominates the heap. Bounded: one at a time (the caller awaits each), and none sooner after the last
/// one ended than <see cref="MinimumSpacing"/>, than <see cref="SpacingPerPause"/> times the pause
/// it imposed (so censuses pause the program for at most about a tenth of the time), or than its
/// whole duration (so Foom's parsing takes at most half a core); longer after failures.
/// docs/benchmarks.md has the cost of one census.
/// </summary>
public sealed class CensusPolicy
{
    public const double NearLimitFraction = 0.3;
    public const double GrowthStepFraction = 0.10;
    public const int SpacingPerPause = 10;
    public static readonly TimeSpan MinimumSpacing = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaximumBackoff = TimeSpan.FromMinutes(1);

    /// <summary>The census buffer is never below this (a small heap's walk fits), nor above <see cref="MaximumBufferBytes"/>.</summary>
    public const long MinimumBufferBytes = 16L << 20;
    public const long MaximumBufferBytes = 1L << 30;

    /// <summary>Near the limit, the buffer may take at most this share of the headroom left (limit − footprint), so the census itself does not kill.</summary>
    public const double HeadroomShare = 0.5;

    /// <summary>
    /// Event bytes per heap byte assumed before a census has measured it: 32-byte node events for
    /// objects averaging 64 bytes (docs/benchmarks.md measured 0.33 for the sample's messages and
    /// 0.76 for 8-character ones). Guessing higher would skip the first census of many programs;
    /// a census that comes out short raises it for the next (<see cref="Taken"/>).
    /// </summary>
    public const double InitialEventBytesPerHeapByte = 0.5;

    private DateTime? _lastEnd;
    private TimeSpan _lastCost;
    private long? _lastFootprint;
    private int _failuresInARow;
    private string? _pendingWarning;
    private double _eventBytesPerHeapByte = InitialEventBytesPerHeapByte;
    private bool _measured;

    public bool AnyTaken => _lastFootprint is not null;

    /// <summary>A memory warning: the next census is due as soon as the spacing allows.</summary>
    public void Warned(string source) => _pendingWarning = source;

    /// <summary>The trigger of the census due now ("warning:SOURCE" or "near_limit"), or null.</summary>
    public string? Due(DateTime now, long footprint, long? limit)
    {
        if (_lastEnd is { } end && now - end < Spacing()) return null;
        if (_pendingWarning is { } source) return "warning:" + source;
        if (limit is not > 0 || footprint < NearLimitFraction * limit.Value) return null;
        if (_lastFootprint is not { } last) return "near_limit";
        if (footprint - last >= GrowthStepFraction * limit.Value) return "near_limit";
        return _lastEnd is { } at && now - at >= Refresh ? "near_limit" : null;
    }

    private TimeSpan Spacing()
    {
        var spacing = TimeSpan.FromTicks(Math.Max(MinimumSpacing.Ticks, _lastCost.Ticks));
        if (_failuresInARow > 0)
            spacing = TimeSpan.FromTicks(Math.Min(MaximumBackoff.Ticks, spacing.Ticks << Math.Min(_failuresInARow, 6)));
        return spacing;
    }

    /// <summary>The events a census of this heap is expected to hold inside the program (the measured, or assumed, bytes per heap byte).</summary>
    public long ExpectedEventBytes(long footprint, long? gcHeapBytes) =>
        (long)(_eventBytesPerHeapByte * (gcHeapBytes is > 0 ? gcHeapBytes.Value : footprint));

    /// <summary>
    /// Whether a census fits under the limit now: its expected events within the buffer it may
    /// have. One that does not would come out incomplete and could itself push the program over
    /// its limit, so it is skipped (<see cref="Skipped"/>) and the last complete census stands.
    /// </summary>
    public bool Fits(long footprint, long? limit, long? gcHeapBytes) =>
        FitMargin * ExpectedEventBytes(footprint, gcHeapBytes) <= BufferBytes(footprint, limit, gcHeapBytes);

    /// <summary>Why a census that does not <see cref="Fits"/> was skipped: the rule, with its numbers.</summary>
    public string WhyItDoesNotFit(long footprint, long? limit, long? gcHeapBytes)
    {
        var heap = gcHeapBytes is > 0 ? $"a GC heap of {Mib(gcHeapBytes.Value)}" : $"a footprint of {Mib(footprint)} (no GC heap size reported yet)";
        var ratio = _measured ? "as the last census measured" : "assumed before any census";
        var expected = ExpectedEventBytes(footprint, gcHeapBytes);
        var buffer = BufferBytes(footprint, limit, gcHeapBytes);
        var headroom = limit is > 0
            ? $"half the headroom, (limit {Mib(limit.Value)} - footprint {Mib(footprint)}) / 2, is {Mib(buffer)}"
            : $"its buffer is at most {Mib(buffer)}";
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"the rule is that its expected events, {_eventBytesPerHeapByte:0.00} bytes per heap byte ({ratio}) of {heap} = {Mib(expected)}, " +
            $"times {FitMargin} to spare = {Mib((long)(FitMargin * expected))}, fit in the buffer it may have inside the program; {headroom}");
    }

    private static string Mib(long bytes) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0} MiB");

    /// <summary>
    /// The heap has grown since the GC last reported its size: the buffer asked for is half as big
    /// again as the expected events, and a census is taken only with a quarter to spare.
    /// </summary>
    private const double WantedMargin = 1.5;
    private const double FitMargin = 1.25;

    /// <summary>The EventPipe buffer to allow: the expected walk, within the headroom share and the bounds.</summary>
    public long BufferBytes(long footprint, long? limit, long? gcHeapBytes)
    {
        var wanted = Math.Max(MinimumBufferBytes, (long)(WantedMargin * ExpectedEventBytes(footprint, gcHeapBytes)));
        var cap = MaximumBufferBytes;
        if (limit is > 0) cap = Math.Min(cap, Math.Max(MinimumBufferBytes / 2, (long)(HeadroomShare * (limit.Value - footprint))));
        var bytes = Math.Min(wanted, cap);
        return (bytes + (1L << 20) - 1) & ~((1L << 20) - 1);
    }

    /// <param name="complete">False when the runtime dropped events (the buffer was too small): the
    /// measured ratio is then a floor, and the next buffer is made half as big again.</param>
    public void Taken(DateTime end, TimeSpan pause, TimeSpan duration, long footprint, long heapBytes, long transferredBytes, bool complete = true)
    {
        _lastEnd = end;
        _lastCost = TimeSpan.FromTicks(Math.Max(pause.Ticks * SpacingPerPause, duration.Ticks));
        _lastFootprint = footprint;
        _failuresInARow = 0;
        _pendingWarning = null;
        if (heapBytes <= 0 || transferredBytes <= 0) return;
        var measured = (double)transferredBytes / heapBytes;
        _eventBytesPerHeapByte = Math.Clamp(complete ? measured : Math.Max(_eventBytesPerHeapByte, 1.5 * measured), 0.01, 4);
        _measured = true;
    }

    /// <summary>A census that was due but did not fit: the next is due after a further tenth of growth (or a new warning), as if it had been taken.</summary>
    public void Skipped(DateTime now, long footprint)
    {
        _lastEnd = now;
        _lastCost = MinimumSpacing;
        _lastFootprint = footprint;
        _pendingWarning = null;
    }

    public void Failed(DateTime end, TimeSpan duration)
    {
        _lastEnd = end;
        _lastCost = duration;
        _failuresInARow++;
        _pendingWarning = null;
    }
}
