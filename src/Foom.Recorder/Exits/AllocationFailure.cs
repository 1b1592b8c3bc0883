using System.Globalization;
using Foom.Recorder.Launch;

namespace Foom.Recorder.Exits;

/// <summary>
/// Rule 3b of docs/exit-reasons.md: a program that crashed (SIGABRT from std::terminate, Go's
/// runtime throw, ...) or exited non-zero shortly after an allocation failed for want of memory
/// died of it, whatever its runtime: C++ std::bad_alloc, Python's MemoryError, Go's "runtime: out
/// of memory", a JVM's OutOfMemoryError, a C program that gives up when malloc returns NULL.
/// </summary>
public static class AllocationFailure
{
    public const string Mechanism = "allocation_failed";

    /// <summary>
    /// The longest gap between the last failure and the death for the one to explain the other:
    /// a runtime unwinds, prints and exits within milliseconds; 30 s (as for .NET's exception, rule
    /// 3a) leaves room for a loaded machine and for clean-up, while a program that failed once
    /// and ran on for minutes died of something else.
    /// </summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(30);

    /// <summary>The evidence sentences when the death follows a failure within <see cref="Window"/>; else null.</summary>
    public static List<string>? Evidence(ObservedDeath death)
    {
        if (death.LastFailedAllocation is not { } last || death.DeathTimeMilliseconds is not { } deathTime) return null;
        var before = TimeSpan.FromMilliseconds(Math.Max(0, deathTime - last.TimeMilliseconds));
        if (before > Window) return null;
        return
        [
            string.Create(CultureInfo.InvariantCulture,
                $"an allocation of {ByteSize.Format(last.Size)} ({last.Size} bytes) failed for want of memory (ENOMEM) on thread {last.ThreadId}, {before.TotalSeconds:0.###} s before the death"),
            last.StackId == 0 ? "its stack was not recorded" : $"its stack is stack {last.StackId} of the session (the report names its frames)",
            death.FailedAllocations == 1 ? "1 allocation failed during the run"
                : string.Create(CultureInfo.InvariantCulture, $"{death.FailedAllocations} allocations failed during the run"),
        ];
    }
}
