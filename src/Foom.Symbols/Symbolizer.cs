using System.Collections.Concurrent;
using Foom.Symbols.Elf;
using Foom.Symbols.IO;
using Foom.Symbols.Jit;
using Foom.Symbols.MachO;
using Foom.Symbols.Tools;

namespace Foom.Symbols;

/// <summary>
/// Names the frames of one report. The report builder (and the server) call it once per report
/// with the report's modules and its distinct frames; it finds each module's symbols (a separate
/// debug file by build-id, the symbol store, the file at the recorded path if it is still the same
/// build, its .gnu_debuglink), looks every frame up in a sorted symbol table, asks llvm-symbolizer
/// or addr2line for file and line in one batch per module, and names JIT code from perf maps.
/// One missing or corrupt module never fails the report: its frames stay unnamed and its
/// <see cref="ModuleStatus"/> says why. Modules are cached by build-id across reports.
/// Thread-safe.
/// </summary>
public sealed class Symbolizer
{
    private readonly SymbolizerOptions _options;
    private readonly Lazy<LineResolver?> _lineResolver;
    private readonly Demangler _demangler;
    private readonly ModuleCache _cache;
    private int _lineBatches;

    public Symbolizer(SymbolizerOptions? options = null)
    {
        _options = options ?? new SymbolizerOptions();
        _lineResolver = new Lazy<LineResolver?>(() =>
        {
            var found = LineResolver.Find(_options.ToolSearchPath);
            return found != null && _options.ForceTextOutput && found.ToolKind == LineResolver.Kind.LlvmSymbolizerJson
                ? found.WithKind(LineResolver.Kind.LlvmSymbolizerText) : found;
        });
        _demangler = Demangler.Find(_options.ToolSearchPath, _options.ToolTimeout);
        _cache = new ModuleCache(Math.Max(1, _options.CachedModules));
    }

    /// <summary>The tool that gives file and line ("llvm-symbolizer", "addr2line"), or null when neither is installed.</summary>
    public string? LineToolName => _lineResolver.Value?.ToolName;

    /// <summary>How many line-tool processes have run (tests check that cached lines are not resolved again).</summary>
    internal int LineBatches => Volatile.Read(ref _lineBatches);

    public SymbolizeResult Symbolize(SymbolizeRequest request) => SymbolizeAsync(request).GetAwaiter().GetResult();

    public async Task<SymbolizeResult> SymbolizeAsync(SymbolizeRequest request, CancellationToken cancellation = default)
    {
        var moduleCount = request.Modules.Count;
        var modules = new LoadedModule?[moduleCount];
        var statuses = new ModuleStatus[moduleCount];
        for (var i = 0; i < moduleCount; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            (modules[i], var problem, var note) = Load(request.Modules[i]);
            statuses[i] = new ModuleStatus
            {
                Module = request.Modules[i],
                SymbolFile = modules[i]?.SymbolFile,
                SymbolTableKind = modules[i]?.SymbolTableKind,
                DebugFile = modules[i]?.DwarfFile,
                Problem = problem,
                Note = note ?? modules[i]?.Note,
                LineProblem = problem != null ? "the module could not be read" : modules[i]?.LineProblem,
            };
        }

        // Place every frame: its module, its address in that module's files, and the address to
        // look up (one byte back for return addresses).
        var placed = new Placement[request.Frames.Count];
        for (var f = 0; f < placed.Length; f++) placed[f] = Place(request.Frames[f], request.Modules, modules);

        var lineProblems = await ResolveLinesAsync(placed, modules, statuses, cancellation);

        var matches = new SymbolMatch?[placed.Length];
        for (var f = 0; f < placed.Length; f++)
        {
            if (placed[f].Module >= 0 && modules[placed[f].Module] is { } module) matches[f] = module.Symbols.Lookup(placed[f].LookupAddress);
        }
        var names = await _demangler.DemangleAsync(matches.Where(m => m.HasValue).Select(m => m!.Value.Name), cancellation);

        var perfMapProblems = new List<string>();
        var perfMaps = ReadPerfMaps(request, placed, perfMapProblems);

        var frames = new FrameSymbol[placed.Length];
        for (var f = 0; f < placed.Length; f++)
        {
            frames[f] = Describe(placed[f], matches[f], names, modules, statuses, lineProblems, perfMaps);
        }
        for (var i = 0; i < moduleCount; i++)
        {
            if (lineProblems[i] != null && statuses[i].LineProblem == null)
                statuses[i] = new ModuleStatus { Module = statuses[i].Module, SymbolFile = statuses[i].SymbolFile, SymbolTableKind = statuses[i].SymbolTableKind, DebugFile = statuses[i].DebugFile, Note = statuses[i].Note, LineProblem = lineProblems[i] };
        }
        return new SymbolizeResult { Frames = frames, Modules = statuses, PerfMapProblems = perfMapProblems };
    }

    private readonly record struct Placement(int Module, ulong Address, ulong LookupAddress, bool IsPc, string? Problem);

    private static Placement Place(FrameRef frame, IReadOnlyList<ModuleInfo> infos, LoadedModule?[] modules)
    {
        var index = frame.Module;
        var offset = frame.Offset;
        if (index == FrameRef.NoModule)
        {
            for (var i = 0; i < infos.Count; i++)
            {
                var info = infos[i];
                if (info.Size > 0 && frame.Offset >= info.Start && frame.Offset - info.Start < info.Size && frame.Offset >= info.Base)
                {
                    index = i;
                    offset = frame.Offset - info.Base;
                    break;
                }
            }
            if (index == FrameRef.NoModule) return new Placement(-1, frame.Offset, LookupOf(frame.Offset, frame.IsReturnAddress), IsPc: true, null);
        }
        if (index < 0 || index >= infos.Count)
            return new Placement(-1, offset, offset, IsPc: false, $"the frame refers to module {index}, but the report has {infos.Count} modules");
        if (modules[index] is not { } module) return new Placement(index, offset, offset, IsPc: false, null);
        var address = module.AddressOf(offset);
        return new Placement(index, address, LookupOf(address, frame.IsReturnAddress), IsPc: false, null);
    }

    private static ulong LookupOf(ulong address, bool isReturnAddress) => isReturnAddress && address > 0 ? address - 1 : address;

    /// <summary>Runs one batch per module for the addresses not already cached, a few modules at a time.</summary>
    private async Task<string?[]> ResolveLinesAsync(Placement[] placed, LoadedModule?[] modules, ModuleStatus[] statuses, CancellationToken cancellation)
    {
        var problems = new string?[modules.Length];
        var wanted = new Dictionary<int, SortedSet<ulong>>();
        foreach (var p in placed)
        {
            if (p.Module < 0 || modules[p.Module] is not { DwarfFile: not null } module || module.Lines.ContainsKey(p.LookupAddress)) continue;
            if (!wanted.TryGetValue(p.Module, out var set)) wanted[p.Module] = set = [];
            set.Add(p.LookupAddress);
        }
        if (wanted.Count == 0) return problems;

        var resolver = _lineResolver.Value;
        if (resolver == null)
        {
            foreach (var index in wanted.Keys) problems[index] = "file and line unavailable: neither llvm-symbolizer nor addr2line was found on PATH";
            return problems;
        }

        using var slots = new SemaphoreSlim(Math.Max(2, Environment.ProcessorCount));
        var work = wanted.Select(async pair =>
        {
            var module = modules[pair.Key]!;
            if (module.IsMachO && !resolver.ReadsMachO)
            {
                problems[pair.Key] = $"file and line for Mach-O need llvm-symbolizer; only {resolver.ToolName} was found";
                return;
            }
            await slots.WaitAsync(cancellation);
            try
            {
                var addresses = pair.Value.ToArray();
                Interlocked.Increment(ref _lineBatches);
                var batch = await resolver.ResolveAsync(module.DwarfFile!, addresses, module.DwarfArchitecture, _options.ToolTimeout, cancellation);
                if (batch.Locations == null)
                {
                    problems[pair.Key] = $"file and line unavailable for {module.DwarfFile}: {batch.Problem}";
                    return;
                }
                for (var i = 0; i < addresses.Length; i++) module.Lines[addresses[i]] = batch.Locations[i];
            }
            finally { slots.Release(); }
        });
        await Task.WhenAll(work);
        return problems;
    }

    private static List<PerfMap> ReadPerfMaps(SymbolizeRequest request, Placement[] placed, List<string> problems)
    {
        var maps = new List<PerfMap>();
        if (!placed.Any(p => p.IsPc)) return maps;
        foreach (var path in request.PerfMaps)
        {
            try
            {
                var map = PerfMap.Read(path);
                maps.Add(map);
                problems.AddRange(map.Problems);
                if (map.MalformedLines > map.Problems.Count) problems.Add($"{path}: {map.MalformedLines - map.Problems.Count} more malformed lines");
            }
            catch (SymbolFileException e)
            {
                problems.Add(e.Message);
            }
        }
        return maps;
    }

    private static FrameSymbol Describe(Placement p, SymbolMatch? match, IReadOnlyDictionary<string, string> names, LoadedModule?[] modules,
        ModuleStatus[] statuses, string?[] lineProblems, List<PerfMap> perfMaps)
    {
        if (p.Problem != null) return new FrameSymbol { Problem = p.Problem, LineProblem = p.Problem };
        if (p.IsPc)
        {
            foreach (var map in perfMaps)
            {
                if (map.Lookup(p.LookupAddress) is not { } jit) continue;
                if (PythonCodeName.TryParse(jit.Name, out var pythonFunction, out var pythonFile, out var line))
                {
                    return new FrameSymbol
                    {
                        Function = pythonFunction,
                        Symbol = pythonFunction,
                        File = pythonFile,
                        Line = line,
                        SymbolOffset = p.Address - jit.Start,
                        LineProblem = line is null ? "Python gives this instruction no line" : null,
                    };
                }
                return new FrameSymbol
                {
                    Function = jit.Name,
                    Symbol = jit.Name,
                    SymbolOffset = p.Address - jit.Start,
                    LineProblem = "JIT code: perf maps carry no file and line",
                };
            }
            var why = perfMaps.Count == 0
                ? $"pc 0x{p.Address:x} is in no module, and no perf map was given for JIT code"
                : $"pc 0x{p.Address:x} is in no module and in no perf map";
            return new FrameSymbol { Problem = why, LineProblem = why };
        }

        var status = statuses[p.Module];
        if (modules[p.Module] is not { } module)
            return new FrameSymbol { Problem = status.Problem, LineProblem = status.Problem };

        // A line tool's answer counts where DWARF covers the address (it gives a file); without
        // that it is the tool's own guess from the symbol table, which may be the nearest symbol below.
        var chain = module.Lines.TryGetValue(p.LookupAddress, out var resolved) && resolved.Length > 0 && resolved[0].File != null ? resolved : [];
        var innermost = chain.Length > 0 ? chain[0] : null;
        var symbol = match is { } m ? names.GetValueOrDefault(m.Name, m.Name) : null;
        var function = innermost?.Function ?? symbol;
        var hasLine = innermost?.File != null;
        return new FrameSymbol
        {
            Function = function,
            File = innermost?.File,
            Line = innermost?.Line,
            Symbol = symbol,
            SymbolOffset = match is { } found ? p.Address - found.Start : 0,
            Inlined = chain,
            Problem = function == null ? NoSymbolHolds(module, p) : null,
            LineProblem = hasLine ? null
                : module.LineProblem ?? lineProblems[p.Module] ?? $"{module.DwarfFile} has no line information for 0x{p.LookupAddress:x}",
        };
    }

    /// <summary>Why a frame has no name, naming the nearest symbol below it that was not taken.</summary>
    private static string NoSymbolHolds(LoadedModule module, Placement p)
    {
        var file = module.SymbolFile ?? "the module";
        if (module.Symbols.NearestBelow(p.LookupAddress) is not { } nearest) return $"no symbol in {file} holds 0x{p.Address:x}";
        // An unsized symbol runs to the next one, so the nearest below that misses is a sized one.
        return $"no symbol in {file} holds 0x{p.Address:x}: the nearest below it, {nearest.Name}, is {nearest.Size} bytes long and ends "
             + $"{nearest.Offset - nearest.Size} bytes before it (a function the symbol table leaves out)";
    }

    // ---- finding a module's files ------------------------------------------------------------

    /// <summary>A module's symbols, and the line information resolved for it so far.</summary>
    private sealed class LoadedModule
    {
        public required SymbolTable Symbols { get; init; }
        public ulong? TextVmAddress { get; init; }
        public bool IsMachO { get; init; }
        public string? SymbolFile { get; init; }
        public string? SymbolTableKind { get; init; }
        public string? DwarfFile { get; init; }
        public string? DwarfArchitecture { get; init; }
        public string? LineProblem { get; init; }
        public string? Note { get; init; }
        public ConcurrentDictionary<ulong, SourceLocation[]> Lines { get; } = new();

        /// <summary>ELF: offsets are virtual addresses already. Mach-O: __TEXT.vmaddr + offset.</summary>
        public ulong AddressOf(ulong offset) => TextVmAddress is { } text ? text + offset : offset;
    }

    /// <summary>One file that may hold the module's symbols, opened.</summary>
    private sealed class Candidate(string path, ElfFile? elf, MachOFile? machO, MachOImage? image) : IDisposable
    {
        public string Path { get; } = path;
        public ElfFile? Elf { get; } = elf;
        public MachOImage? Image { get; } = image;
        public string? Id => Elf != null ? Elf.BuildId : Image!.Uuid;
        public bool HasFullSymbols => Elf?.HasFullSymbolTable ?? Image!.HasSymbolTable;
        public bool HasAnySymbols => Elf != null ? Elf.HasFullSymbolTable || Elf.HasDynamicSymbols || Elf.HasMiniDebugInfo : Image!.HasSymbolTable;
        public bool HasDwarf => Elf?.HasDebugInfo ?? Image!.HasDebugInfo;
        public string TableKind => Elf == null ? "nlist" : Elf.HasFullSymbolTable ? ".symtab" : Elf.HasMiniDebugInfo ? ".dynsym and .gnu_debugdata" : ".dynsym";
        public SymbolTable ReadSymbols(ICollection<string> problems) => Elf?.ReadFunctionSymbols(problems) ?? Image!.ReadFunctionSymbols();

        public void Dispose()
        {
            Elf?.Dispose();
            machO?.Dispose();
        }
    }

    private (LoadedModule? Module, string? Problem, string? Note) Load(ModuleInfo info)
    {
        var id = BuildIds.Normalize(info.BuildId);
        var path = string.IsNullOrEmpty(info.Path) ? null : info.Path;
        string? key;
        string? note = null;
        if (id != null) key = "id:" + id;
        else if (path != null && File.Exists(path))
        {
            var file = new FileInfo(path);
            key = $"path:{path}:{file.LastWriteTimeUtc.Ticks}:{file.Length}";
            note = $"no build-id was recorded, so {path} was used without checking that it is the build that ran";
        }
        else return (null, path == null ? "the module has neither a build-id nor a path" : $"{path} does not exist on this machine and no build-id was recorded to find its symbols elsewhere", null);

        if (_cache.TryGet(key, out var cached)) return (cached, null, note);

        var candidates = new List<Candidate>();
        var misses = new List<string>();
        try
        {
            if (id != null)
            {
                foreach (var root in _options.DebugDirectories)
                {
                    var debugFile = Path.Combine(root, ".build-id", id[..2], id[2..] + ".debug");
                    if (File.Exists(debugFile)) AddCandidate(debugFile, id, candidates, misses);
                }
                if (_options.Store?.Find(id) is { } stored) AddCandidate(stored, id, candidates, misses);
            }
            if (path != null)
            {
                if (File.Exists(path)) AddCandidate(path, id, candidates, misses);
                else misses.Add($"{path} does not exist on this machine");
            }
            foreach (var linked in candidates.Where(c => c.Elf?.DebugLink != null).ToList())
            {
                foreach (var debugFile in DebugLinkLocations(linked.Path, linked.Elf!.DebugLink!.FileName))
                {
                    if (candidates.Any(c => c.Path == debugFile) || !File.Exists(debugFile)) continue;
                    if (AddDebugLinked(debugFile, linked, candidates, misses)) break;
                }
            }

            if (candidates.Count == 0)
            {
                var where = id == null ? "" : $"; no file for build-id {id} {(_options.Store != null ? "in the symbol store or " : "")}under {string.Join(", ", _options.DebugDirectories.Select(d => d + "/.build-id"))}";
                return (null, (misses.Count > 0 ? string.Join("; ", misses) : "no file to read") + where, note);
            }

            var symbolSource = candidates.FirstOrDefault(c => c.HasFullSymbols) ?? candidates.FirstOrDefault(c => c.HasAnySymbols);
            SymbolTable symbols;
            try { symbols = symbolSource?.ReadSymbols(misses) ?? SymbolTable.Empty; }
            catch (SymbolFileException e) { return (null, e.Message, note); }

            var dwarf = candidates.FirstOrDefault(c => c.HasDwarf);
            var primary = symbolSource ?? candidates[0];
            ulong? text = null;
            if (primary.Image != null)
            {
                text = primary.Image.TextVmAddress;
                if (text == null) return (null, $"{primary.Path}: the {primary.Image.Architecture} image has no __TEXT segment, so offsets cannot be placed", note);
            }
            var loaded = new LoadedModule
            {
                Symbols = symbols,
                TextVmAddress = text,
                IsMachO = primary.Image != null,
                SymbolFile = symbolSource?.Path,
                SymbolTableKind = symbolSource?.TableKind,
                DwarfFile = dwarf?.Path,
                DwarfArchitecture = dwarf?.Image != null ? dwarf.Image.Architecture : null,
                LineProblem = dwarf != null ? null
                    : $"file and line unavailable: {string.Join(", ", candidates.Select(c => c.Path))} {(candidates.Count == 1 ? "has" : "have")} no DWARF"
                      + (primary.Elf != null ? " and no separate debug file was found (by build-id under " + string.Join(", ", _options.DebugDirectories) + ", or by .gnu_debuglink)" : ""),
                Note = misses.Count > 0 ? string.Join("; ", misses) : null,
            };
            if (symbolSource == null && dwarf == null) return (null, $"{string.Join(", ", candidates.Select(c => c.Path))}: no symbol table and no DWARF, nothing names its code", note);
            _cache.Add(key, loaded);
            return (loaded, null, note);
        }
        finally
        {
            foreach (var c in candidates) c.Dispose();
        }
    }

    /// <summary>Opens <paramref name="path"/> as ELF or Mach-O and keeps it if its id is <paramref name="id"/> (or if no id was recorded).</summary>
    private static void AddCandidate(string path, string? id, List<Candidate> candidates, List<string> misses)
    {
        if (candidates.Any(c => c.Path == path)) return;
        try
        {
            var candidate = OpenCandidate(path, id);
            if (id != null && candidate.Id != id)
            {
                var now = candidate.Id == null ? "has no build-id" : $"now has build-id {candidate.Id}";
                candidate.Dispose();
                misses.Add($"{path} {now}, not the recorded {id}: it was rebuilt or upgraded since, so it is not used");
                return;
            }
            candidates.Add(candidate);
        }
        catch (SymbolFileException e) { misses.Add(e.Message); }
    }

    private static Candidate OpenCandidate(string path, string? id)
    {
        Span<byte> magic = stackalloc byte[4];
        using (var file = BinaryFile.Open(path))
        {
            if (file.Length < 4) throw file.Corrupt("is too short to be an ELF or Mach-O file");
            file.ReadInto(0, magic, "file magic");
        }
        if (ElfFile.HasElfMagic(magic)) return new Candidate(path, ElfFile.Open(path), null, null);
        if (!MachOFile.HasMachOMagic(magic)) throw new SymbolFileException(path, "is neither an ELF nor a Mach-O file");
        var macho = MachOFile.Open(path);
        var image = id != null ? macho.FindImage(id) : macho.Images.Count == 1 ? macho.Images[0] : null;
        if (image == null)
        {
            var has = string.Join(", ", macho.Images.Select(i => $"{i.Architecture} {i.Uuid ?? "(no UUID)"}"));
            macho.Dispose();
            throw new SymbolFileException(path, id != null
                ? $"holds no image with UUID {id} (it has {has}): a different build"
                : $"is a universal file and no UUID was recorded to choose among {has}");
        }
        return new Candidate(path, null, macho, image);
    }

    /// <summary>Where GDB looks for a .gnu_debuglink file: beside the binary, in .debug/ beside it, and under each debug root.</summary>
    private IEnumerable<string> DebugLinkLocations(string binary, string linkName)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(binary)) ?? "/";
        yield return Path.Combine(folder, linkName);
        yield return Path.Combine(folder, ".debug", linkName);
        foreach (var root in _options.DebugDirectories) yield return Path.Combine(root + folder, linkName);
    }

    /// <summary>Keeps a .gnu_debuglink file if it belongs to <paramref name="binary"/>: same build-id, or (without one) the CRC the link records.</summary>
    private static bool AddDebugLinked(string debugFile, Candidate binary, List<Candidate> candidates, List<string> misses)
    {
        try
        {
            var elf = ElfFile.Open(debugFile);
            var matches = elf.BuildId != null && binary.Elf!.BuildId != null
                ? elf.BuildId == binary.Elf.BuildId
                : elf.ComputeCrc32() == binary.Elf!.DebugLink!.Crc32;
            if (!matches)
            {
                elf.Dispose();
                misses.Add($"{debugFile} is named by the .gnu_debuglink of {binary.Path} but belongs to another build, so it is not used");
                return false;
            }
            candidates.Insert(0, new Candidate(debugFile, elf, null, null));
            return true;
        }
        catch (SymbolFileException e)
        {
            misses.Add(e.Message);
            return false;
        }
    }

    /// <summary>Modules by build-id (or path and modification time), least recently used dropped first.</summary>
    private sealed class ModuleCache(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, LinkedListNode<(string Key, LoadedModule Module)>> _byKey = new(StringComparer.Ordinal);
        private readonly LinkedList<(string Key, LoadedModule Module)> _recency = new();

        public bool TryGet(string key, out LoadedModule module)
        {
            lock (_lock)
            {
                if (_byKey.TryGetValue(key, out var node))
                {
                    _recency.Remove(node);
                    _recency.AddFirst(node);
                    module = node.Value.Module;
                    return true;
                }
            }
            module = null!;
            return false;
        }

        public void Add(string key, LoadedModule module)
        {
            lock (_lock)
            {
                if (_byKey.Remove(key, out var old)) _recency.Remove(old);
                _byKey[key] = _recency.AddFirst((key, module));
                while (_recency.Count > capacity)
                {
                    _byKey.Remove(_recency.Last!.Value.Key);
                    _recency.RemoveLast();
                }
            }
        }
    }
}
