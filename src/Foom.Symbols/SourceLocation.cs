namespace Foom.Symbols;

/// <summary>A function and, when DWARF says so, the source file and line of an address in it.</summary>
public sealed record SourceLocation(string? Function, string? File, int? Line);
