using System.Runtime.InteropServices;

namespace Foom.Storage.Sessions;

/// <summary>
/// One allocation that failed for want of memory (the hook's alloc-failed event): when, the bytes
/// asked for, the allocating stack (a stack id of the session) and the thread.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct FailedAllocationRecord(long TimeMilliseconds, long Size, int StackId, uint ThreadId);

/// <summary>
/// The session's failed allocations (failed-allocations.log.foom): a small circular log, made at
/// the first failure, so that the count (records ever appended) and the last few survive a SIGKILL
/// of the recorder. A session without the file had no failure.
/// </summary>
public static class FailedAllocationLog
{
    public const string Name = "failed-allocations";

    /// <summary>"FAILALOC" in ASCII: the record type the log was created for.</summary>
    public const ulong TypeTag = 0x434F4C414C494146;

    /// <summary>Slots: the last 16 failures are readable (one slot is the writer's).</summary>
    public const int Capacity = 17;
}
