using Foom.Recorder.Exits;
using Foom.Storage.Sessions;

namespace Foom.Recording.Tests.Exits;

/// <summary>Rule 3b: a death shortly after a failed allocation is a memory death, mechanism allocation_failed.</summary>
public class AllocationFailureRuleTests
{
    private const long Death = 1_800_000_000_000;
    private static readonly FailedAllocationRecord Failure = new(Death - 40, 256 << 20, 7, 4242);

    private static ObservedDeath After(FailedAllocationRecord failure, int? exitCode = null, int? signal = null) => new()
    {
        ExitCode = exitCode, Signal = signal, FailedAllocations = 3, LastFailedAllocation = failure, DeathTimeMilliseconds = Death,
    };

    [Theory]
    [InlineData(null, 6)]   // std::terminate after std::bad_alloc, Go's runtime throw
    [InlineData(1, null)]   // Python's MemoryError, a C program giving up
    public void ADeathAfterAFailedAllocationIsAForegroundOomByAllocationFailure(int? exitCode, int? signal)
    {
        var verdict = ExitClassifier.Observe(After(Failure, exitCode, signal));
        Assert.Equal((ExitReason.ForegroundOom, AllocationFailure.Mechanism), (verdict.Reason, verdict.Mechanism));
        Assert.Contains("an allocation of 256.0 MiB (268435456 bytes) failed for want of memory (ENOMEM) on thread 4242, 0.04 s before the death", verdict.Evidence);
        Assert.Contains("its stack is stack 7 of the session (the report names its frames)", verdict.Evidence);
        Assert.Contains("3 allocations failed during the run", verdict.Evidence);
    }

    [Fact]
    public void AFailureLongerAgoThanTheWindowExplainsNothing()
    {
        var old = Failure with { TimeMilliseconds = Death - (long)AllocationFailure.Window.TotalMilliseconds - 1 };
        Assert.Equal(ExitReason.Crash, ExitClassifier.Observe(After(old, signal: 6)).Reason);
        Assert.Equal(ExitReason.Exit, ExitClassifier.Observe(After(old, exitCode: 1)).Reason);
    }

    [Fact]
    public void ASuccessfulExitAfterAFailureStaysAnExit()
    {
        var verdict = ExitClassifier.Observe(After(Failure, exitCode: 0));
        Assert.Equal(ExitReason.Exit, verdict.Reason);
        Assert.Null(verdict.Mechanism);
    }

    [Fact]
    public void ABackgroundProgramIsABackgroundOom()
    {
        var death = After(Failure, signal: 6) with { Marks = new AppMarks { State = AppRunState.Background } };
        Assert.Equal(ExitReason.BackgroundOom, ExitClassifier.Observe(death).Reason);
    }
}
