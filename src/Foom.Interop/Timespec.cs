namespace Foom.Interop;

/// <summary>struct timespec.</summary>
internal struct Timespec
{
    public long Seconds;
    public long Nanoseconds;
}
