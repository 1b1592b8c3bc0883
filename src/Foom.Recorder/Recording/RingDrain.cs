using Foom.Ring;

namespace Foom.Recorder.Recording;

/// <summary>
/// The recorder's draining thread: reads the ring in order and hands each event to the
/// <see cref="EventApplier"/>, until told the target has ended and the ring has run dry. A
/// corrupt ring (the target scribbled over its mapping) stops recording, says why, and never
/// takes `foom run` down with it.
/// </summary>
public sealed class RingDrain
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>How often a wait for events looks whether the target has ended, so that the end
    /// of the run is not held up to wait out <see cref="PollInterval"/>.</summary>
    private static readonly TimeSpan EndCheckInterval = TimeSpan.FromMilliseconds(1);

    /// <summary>How long to wait, after the target ended, for records it reserved but never
    /// committed (a thread killed between the two) before giving them up.</summary>
    private static readonly TimeSpan AbandonAfterExit = TimeSpan.FromMilliseconds(200);

    private readonly EventRing _ring;
    private readonly RingConsumer _consumer;
    private readonly EventApplier _applier;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _targetEnded;

    public RingDrain(EventRing ring, EventApplier applier)
    {
        _ring = ring;
        // One table of stacks by hash for both: the consumer's frames, the applier's stack ids.
        _consumer = new RingConsumer(ring, applier.Stacks);
        _applier = applier;
        _thread = new Thread(Run) { IsBackground = true, Name = "foom ring drain" };
    }

    /// <summary>Why recording stopped early, when it did (a corrupt ring).</summary>
    public string? Failure { get; private set; }

    /// <summary>Bytes the target reserved and never committed (it died mid-publish).</summary>
    public ulong AbandonedBytes { get; private set; }

    public long EventsRead => _consumer.EventsRead;

    public Task Finished => _finished.Task;

    public void Start() => _thread.Start();

    /// <summary>The target has ended: drain what is left and stop.</summary>
    public Task StopAfterTargetEnded()
    {
        _targetEnded = true;
        return Finished;
    }

    private void Run()
    {
        try
        {
            while (true)
            {
                var drained = DrainAvailable();
                if (_targetEnded)
                {
                    // Ended: one more pass for what was committed in the meantime, then wait a
                    // little for reservations still being committed, then stop.
                    DrainUntilQuiet();
                    break;
                }
                if (drained == 0) WaitForEventOrTheEnd();
            }
            _finished.TrySetResult();
        }
        catch (RingFormatException corrupt)
        {
            Failure = $"recording stopped: {corrupt.Message}";
            _ring.RequestStop();
            _finished.TrySetResult();
        }
        catch (Exception unexpected)
        {
            Failure = $"recording stopped: {unexpected.GetType().Name}: {unexpected.Message}";
            _ring.RequestStop();
            _finished.TrySetException(unexpected);
        }
    }

    private void WaitForEventOrTheEnd()
    {
        var deadline = Environment.TickCount64 + (long)PollInterval.TotalMilliseconds;
        while (!_targetEnded && Environment.TickCount64 < deadline)
            if (_consumer.WaitForEvent(EndCheckInterval)) return;
    }

    private int DrainAvailable()
    {
        var count = 0;
        while (_consumer.TryRead(out var next))
        {
            _applier.LookAhead(_consumer);
            _applier.Apply(next);
            count++;
        }
        return count;
    }

    private void DrainUntilQuiet()
    {
        var quietSince = DateTime.UtcNow;
        while (true)
        {
            if (DrainAvailable() > 0)
            {
                quietSince = DateTime.UtcNow;
                continue;
            }
            if (_consumer.PendingBytes == 0) return;
            if (DateTime.UtcNow - quietSince > AbandonAfterExit)
            {
                AbandonedBytes = _consumer.PendingBytes;
                return;
            }
            Thread.Sleep(5);
        }
    }
}
