namespace Foom.Symbols;

/// <summary>A module as the recording saw it.</summary>
/// <param name="Path">Where it was loaded from (may be absent on this machine, or on the server).</param>
/// <param name="BuildId">GNU build-id or LC_UUID as recorded (any spelling); null when unknown.</param>
/// <param name="Base">Load bias (ELF) so that offset = pc − Base; on iOS the __TEXT start.</param>
/// <param name="Start">Lowest mapped address, used to place raw pcs.</param>
/// <param name="Size">Bytes mapped from <paramref name="Start"/>.</param>
public sealed record ModuleInfo(string? Path, string? BuildId, ulong Base = 0, ulong Start = 0, ulong Size = 0);

/// <summary>
/// One frame to name: an offset in a module (ELF: pc − load bias, the ELF virtual address;
/// Mach-O: pc − __TEXT start), or, with <see cref="NoModule"/>, a raw pc (JIT code, or a pc to be
/// placed in a module by its address range).
/// </summary>
/// <param name="IsReturnAddress">True for frames taken from a backtrace above the innermost: the
/// pc is the instruction after a call, so function and line are looked up at pc − 1 (otherwise a
/// call at the very end of a function would be named after the next function).</param>
public readonly record struct FrameRef(int Module, ulong Offset, bool IsReturnAddress = false)
{
    public const int NoModule = -1;

    /// <summary>A raw pc in no known module.</summary>
    public static FrameRef Pc(ulong pc, bool isReturnAddress = false) => new(NoModule, pc, isReturnAddress);
}

/// <summary>What to symbolize: the report's modules, its distinct frames, and the perf maps that name JIT code.</summary>
public sealed class SymbolizeRequest
{
    public IReadOnlyList<ModuleInfo> Modules { get; init; } = [];
    public IReadOnlyList<FrameRef> Frames { get; init; } = [];

    /// <summary>Perf maps (/tmp/perf-PID.map, or the copy in a session directory) for pcs in no module.</summary>
    public IReadOnlyList<string> PerfMaps { get; init; } = [];
}

/// <summary>The name, file and line of one frame, and why any of them is missing.</summary>
public sealed class FrameSymbol
{
    /// <summary>The best function name: the innermost (inlined) function DWARF names, else the
    /// demangled symbol, else the JIT name. Null when nothing names the frame.</summary>
    public string? Function { get; init; }
    public string? File { get; init; }
    public int? Line { get; init; }

    /// <summary>The symbol-table function (or JIT method) that holds the address, demangled; null
    /// when none holds it (the nearest symbol below is never taken for it).</summary>
    public string? Symbol { get; init; }

    /// <summary>The frame's address minus <see cref="Symbol"/>'s start.</summary>
    public ulong SymbolOffset { get; init; }

    /// <summary>The inline chain from DWARF, innermost first; the last entry is the real function. Empty without DWARF.</summary>
    public IReadOnlyList<SourceLocation> Inlined { get; init; } = [];

    /// <summary>Why the frame has no name; null when it has one.</summary>
    public string? Problem { get; init; }

    /// <summary>Why the frame has no file and line; null when it has them.</summary>
    public string? LineProblem { get; init; }
}

/// <summary>How a module was symbolized: the files used, or why it could not be.</summary>
public sealed class ModuleStatus
{
    public required ModuleInfo Module { get; init; }

    /// <summary>The file whose symbol table named the frames (a debug file, a stored file, or the binary).</summary>
    public string? SymbolFile { get; init; }

    /// <summary>Which table of <see cref="SymbolFile"/> names frames: ".symtab", ".dynsym and .gnu_debugdata"
    /// (MiniDebugInfo), ".dynsym" (a stripped ELF: exported functions only) or "nlist" (Mach-O).</summary>
    public string? SymbolTableKind { get; init; }

    /// <summary>The file whose DWARF gave file and line.</summary>
    public string? DebugFile { get; init; }

    /// <summary>Why the module's frames have no names (file missing, rebuilt since, corrupt); null when it was read.</summary>
    public string? Problem { get; init; }

    /// <summary>Why the module's frames have no file and line; null when they have them.</summary>
    public string? LineProblem { get; init; }

    /// <summary>Anything else worth showing (for example: no build-id was recorded, so the file could not be verified).</summary>
    public string? Note { get; init; }
}

public sealed class SymbolizeResult
{
    /// <summary>One per <see cref="SymbolizeRequest.Frames"/>, in the same order.</summary>
    public required IReadOnlyList<FrameSymbol> Frames { get; init; }

    /// <summary>One per <see cref="SymbolizeRequest.Modules"/>, in the same order.</summary>
    public required IReadOnlyList<ModuleStatus> Modules { get; init; }

    /// <summary>Perf maps that could not be read, and malformed lines in those that could.</summary>
    public required IReadOnlyList<string> PerfMapProblems { get; init; }
}

public sealed class SymbolizerOptions
{
    /// <summary>Uploaded symbol files by id (the server's); consulted before the module's path.</summary>
    public SymbolStore? Store { get; init; }

    /// <summary>Roots searched for separate debug files: ROOT/.build-id/xx/rest.debug and ROOT/dir/debuglink-name.</summary>
    public IReadOnlyList<string> DebugDirectories { get; init; } = ["/usr/lib/debug"];

    /// <summary>Where llvm-symbolizer, addr2line and c++filt are looked for (a PATH-style list); null for $PATH.</summary>
    public string? ToolSearchPath { get; init; }

    /// <summary>How long one tool run (one module's batch) may take before it is stopped.</summary>
    public TimeSpan ToolTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Modules kept in memory between reports (symbol tables and resolved lines), least recently used dropped first.</summary>
    public int CachedModules { get; init; } = 64;

    /// <summary>Use llvm-symbolizer's text output even when it has JSON (tests cover both parsers with it).</summary>
    internal bool ForceTextOutput { get; init; }
}
