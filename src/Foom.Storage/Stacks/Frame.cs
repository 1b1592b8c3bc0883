using System.Runtime.CompilerServices;

namespace Foom.Storage.Stacks;

/// <summary>
/// One stack frame as Foom stores it: the module it falls in and its offset from that module's
/// load bias (the address a symbolizer wants), packed into 64 bits: module id in bits 48..63,
/// offset in bits 0..47. Module 0 means "in no known module"; its offset is then the raw address.
/// Limits: 65,535 module ids; offsets and raw addresses below 2^48 (all of x86-64's and arm64's
/// user space).
/// </summary>
public readonly record struct Frame(ulong Packed)
{
    public const int MaxModuleId = ushort.MaxValue;
    public const ulong OffsetLimit = 1UL << 48;
    private const ulong OffsetMask = OffsetLimit - 1;

    public Frame(int moduleId, ulong offset) : this(Pack(moduleId, offset)) { }

    public int ModuleId => (int)(Packed >> 48);
    public ulong Offset => Packed & OffsetMask;

    /// <summary>A frame in no known module, at the raw address <paramref name="pc"/> (kept modulo 2^48).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Frame Unknown(ulong pc) => new(pc & OffsetMask);

    private static ulong Pack(int moduleId, ulong offset)
    {
        if ((uint)moduleId > MaxModuleId) throw new ArgumentOutOfRangeException(nameof(moduleId), moduleId, $"module ids go up to {MaxModuleId}");
        if (offset >= OffsetLimit) throw new ArgumentOutOfRangeException(nameof(offset), offset, "offsets must be below 2^48");
        return ((ulong)moduleId << 48) | offset;
    }

    public override string ToString() => $"{ModuleId}+0x{Offset:x}";
}
