using Foom.Managed;

namespace Foom.Managed.Tests;

/// <summary>When a census is due and what it may spend: the bounds docs/benchmarks.md documents.</summary>
public sealed class CensusPolicyTests
{
    private const long Limit = 1000L << 20;
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void NearTheLimitACensusIsDueFromThirtyPercentAndAgainAtEachTenthOfGrowth()
    {
        var policy = new CensusPolicy();
        Assert.Null(policy.Due(T0, 299L << 20, Limit));
        Assert.Equal("near_limit", policy.Due(T0, 300L << 20, Limit));
        policy.Taken(T0, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(300), 500L << 20, 200L << 20, 60L << 20);
        var later = T0.AddSeconds(5);
        Assert.Null(policy.Due(later, 590L << 20, Limit));
        Assert.Equal("near_limit", policy.Due(later, 600L << 20, Limit));
        // Without growth, once a minute while it stays near the limit.
        Assert.Null(policy.Due(T0.AddSeconds(59), 550L << 20, Limit));
        Assert.Equal("near_limit", policy.Due(T0.AddSeconds(61), 550L << 20, Limit));
        // No limit known, no warning: never.
        Assert.Null(new CensusPolicy().Due(T0, 900L << 20, null));
    }

    [Fact]
    public void AWarningMakesACensusDueButNeverSoonerThanTenPausesOrOneDurationAfterTheLast()
    {
        var policy = new CensusPolicy();
        policy.Warned("threshold");
        Assert.Equal("warning:threshold", policy.Due(T0, 10L << 20, null));
        policy.Taken(T0, TimeSpan.FromMilliseconds(400), TimeSpan.FromMilliseconds(900), 10L << 20, 8L << 20, 4L << 20);
        policy.Warned("pressure");
        Assert.Null(policy.Due(T0.AddSeconds(3.9), 10L << 20, null));
        Assert.Equal("warning:pressure", policy.Due(T0.AddSeconds(4), 10L << 20, null));
        policy.Taken(T0.AddSeconds(4), TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(3), 10L << 20, 8L << 20, 4L << 20);
        policy.Warned("threshold");
        Assert.Null(policy.Due(T0.AddSeconds(6.9), 10L << 20, null));
        Assert.NotNull(policy.Due(T0.AddSeconds(7), 10L << 20, null));
    }

    [Fact]
    public void ASkippedCensusIsDueAgainOnlyAfterFurtherGrowthOrANewWarning()
    {
        var policy = new CensusPolicy();
        Assert.Equal("near_limit", policy.Due(T0, 900L << 20, Limit));
        policy.Skipped(T0, 900L << 20);
        Assert.Null(policy.Due(T0.AddSeconds(5), 950L << 20, Limit));
        Assert.Equal("near_limit", policy.Due(T0.AddSeconds(5), 1000L << 20, Limit));
        policy.Warned("pressure");
        Assert.Equal("warning:pressure", policy.Due(T0.AddSeconds(5), 950L << 20, Limit));
    }

    [Fact]
    public void FailuresBackOffUpToAMinute()
    {
        var policy = new CensusPolicy();
        for (var i = 0; i < 10; i++) policy.Failed(T0, TimeSpan.FromMilliseconds(100));
        Assert.Null(policy.Due(T0.AddSeconds(59), 900L << 20, Limit));
        Assert.Equal("near_limit", policy.Due(T0.AddSeconds(60), 900L << 20, Limit));
    }

    [Fact]
    public void TheBufferFollowsTheMeasuredEventsPerHeapByteAndNeverTakesMoreThanHalfTheHeadroom()
    {
        var policy = new CensusPolicy();
        // Before any census: half a byte of events per heap byte, and half as much again.
        Assert.Equal(150L << 20, policy.BufferBytes(footprint: 300L << 20, Limit, gcHeapBytes: 200L << 20));
        policy.Taken(T0, TimeSpan.Zero, TimeSpan.Zero, 300L << 20, heapBytes: 200L << 20, transferredBytes: 20L << 20);
        Assert.Equal(30L << 20, policy.BufferBytes(footprint: 300L << 20, Limit, gcHeapBytes: 200L << 20));
        // Close to the limit the headroom bounds it: 40 MiB left, at most 20 MiB spent.
        policy.Taken(T0, TimeSpan.Zero, TimeSpan.Zero, 300L << 20, heapBytes: 200L << 20, transferredBytes: 400L << 20);
        Assert.Equal(20L << 20, policy.BufferBytes(footprint: 960L << 20, Limit, gcHeapBytes: 800L << 20));
        // A census that lost events measured a floor: the ratio is taken half as big again (0.3).
        policy.Taken(T0, TimeSpan.Zero, TimeSpan.Zero, 300L << 20, heapBytes: 200L << 20, transferredBytes: 20L << 20);
        policy.Taken(T0, TimeSpan.Zero, TimeSpan.Zero, 300L << 20, heapBytes: 200L << 20, transferredBytes: 40L << 20, complete: false);
        Assert.Equal(90L << 20, policy.BufferBytes(footprint: 300L << 20, Limit, gcHeapBytes: 200L << 20));
        // A census whose events would not fit in what it may spend is skipped, not taken incomplete.
        Assert.True(policy.Fits(footprint: 300L << 20, Limit, gcHeapBytes: 200L << 20));
        Assert.Equal(60L << 20, policy.ExpectedEventBytes(footprint: 900L << 20, gcHeapBytes: 200L << 20));
        Assert.False(policy.Fits(footprint: 900L << 20, Limit, gcHeapBytes: 200L << 20));
        // Its skipped message states the rule with its numbers: 0.30 x 200 MiB = 60 MiB, x 1.25 = 75 MiB > (1000 - 900) / 2 = 50 MiB.
        Assert.Equal("the rule is that its expected events, 0.30 bytes per heap byte (as the last census measured) of a GC heap of 200 MiB = 60 MiB, " +
                     "times 1.25 to spare = 75 MiB, fit in the buffer it may have inside the program; half the headroom, (limit 1000 MiB - footprint 900 MiB) / 2, is 50 MiB",
            policy.WhyItDoesNotFit(footprint: 900L << 20, Limit, gcHeapBytes: 200L << 20));
        // Never below the floor, nor above a gibibyte.
        Assert.Equal(CensusPolicy.MinimumBufferBytes, policy.BufferBytes(footprint: 1L << 20, null, gcHeapBytes: 1L << 20));
        Assert.Equal(CensusPolicy.MaximumBufferBytes, policy.BufferBytes(footprint: 8L << 30, null, gcHeapBytes: 8L << 30));
    }
}
