namespace Foom.Ring;

/// <summary>
/// What the program did after recording had stopped (the recorder gone, or a stop asked for), which
/// the hook counted in the ring header instead of publishing: exact counts, so the gap is known.
/// A free's size is not known to the hook; unmappings carry their lengths.
/// </summary>
public readonly record struct UnrecordedEvents(
    ulong Allocations,
    ulong AllocationBytes,
    ulong Frees,
    ulong Mappings,
    ulong MappingBytes,
    ulong Unmappings,
    ulong UnmappingBytes)
{
    public bool Any => Allocations + Frees + Mappings + Unmappings > 0;
}
