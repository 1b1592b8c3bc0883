using Foom.Report.Model;
using Foom.Report.Pprof.Proto;

namespace Foom.Report.Pprof;

/// <summary>
/// The interned tables of one profile.proto message: strings, mappings (one per module, by
/// build-id), functions (by name and file) and locations (one per module and offset, or one per
/// pseudo-frame such as a category). pprof refers to each by index or id, so a frame that many
/// stacks share is written once.
/// </summary>
internal sealed class PprofTables
{
    private readonly Profile _profile;
    private readonly Dictionary<string, long> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Mapping> _mappings = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<(string Name, string? File), ulong> _functions = [];
    private readonly Dictionary<(string Uuid, ulong Offset), ulong> _locations = [];
    private readonly Dictionary<string, ulong> _pseudoLocations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ReportModule> _modules = new(StringComparer.OrdinalIgnoreCase);

    public PprofTables(Profile profile)
    {
        _profile = profile;
        String(""); // string_table[0] must be the empty string
    }

    /// <summary>Makes the report's modules known, so that frames in them get a mapping with the module's path, build-id and load address.</summary>
    public void AddModules(Model.Report report)
    {
        foreach (var module in report.Modules)
            if (!string.IsNullOrEmpty(module.Uuid)) _modules.TryAdd(module.Uuid, module);
    }

    public long String(string value)
    {
        if (_strings.TryGetValue(value, out var index)) return index;
        index = _profile.StringTable.Count;
        _profile.StringTable.Add(value);
        _strings[value] = index;
        return index;
    }

    /// <summary>
    /// The location of a report frame: its address is the module's load address plus the offset
    /// (a frame without a module has its absolute address as offset), so that pprof can still name
    /// it from the binary with that build-id when the report did not.
    /// </summary>
    public ulong Frame(ReportFrame frame)
    {
        if (_locations.TryGetValue((frame.Uuid, frame.Offset), out var id)) return id;
        var location = new Location { Id = (ulong)_profile.Location.Count + 1, Address = frame.Offset };
        if (frame.Uuid.Length > 0)
        {
            var mapping = MappingOf(frame.Uuid);
            location.MappingId = mapping.Id;
            location.Address = mapping.MemoryStart + frame.Offset;
            // A module the report gives no extent for (managed assemblies, iOS uuids) covers its frames.
            if (location.Address >= mapping.MemoryLimit) mapping.MemoryLimit = location.Address + 1;
            // A mapping claims names, files and lines only when every frame in it has them.
            mapping.HasFunctions &= !string.IsNullOrEmpty(frame.Function);
            mapping.HasFilenames &= !string.IsNullOrEmpty(frame.File);
            mapping.HasLineNumbers &= frame.Line is not null;
        }
        if (!string.IsNullOrEmpty(frame.Function))
            location.Line.Add(new Line { FunctionId = Function(frame.Function, frame.File), Line_ = frame.Line ?? 0 });
        _profile.Location.Add(location);
        _locations[(frame.Uuid, frame.Offset)] = location.Id;
        return location.Id;
    }

    /// <summary>A frame that is not code: a category ("[Malloc 48 Bytes]") or a root such as "[stacks not listed]"; no mapping, no address.</summary>
    public ulong PseudoFrame(string name)
    {
        if (_pseudoLocations.TryGetValue(name, out var id)) return id;
        var location = new Location { Id = (ulong)_profile.Location.Count + 1 };
        location.Line.Add(new Line { FunctionId = Function(name, null) });
        _profile.Location.Add(location);
        _pseudoLocations[name] = location.Id;
        return location.Id;
    }

    private ulong Function(string name, string? file)
    {
        if (_functions.TryGetValue((name, file), out var id)) return id;
        var nameIndex = String(name);
        var function = new Function
        {
            Id = (ulong)_profile.Function.Count + 1,
            Name = nameIndex,
            SystemName = nameIndex,
            Filename = file is null ? 0 : String(file),
        };
        _profile.Function.Add(function);
        _functions[(name, file)] = function.Id;
        return function.Id;
    }

    /// <summary>
    /// The mapping of a module: from the report's modules table when it is there; else (a Matrix
    /// report from iOS carries only LC_UUIDs and offsets) a mapping at address 0 named by the uuid,
    /// so the frame's offset is its address and the uuid its build-id.
    /// </summary>
    private Mapping MappingOf(string uuid)
    {
        if (_mappings.TryGetValue(uuid, out var mapping)) return mapping;
        mapping = new Mapping
        {
            Id = (ulong)_profile.Mapping.Count + 1,
            BuildId = String(uuid),
            HasFunctions = true,
            HasFilenames = true,
            HasLineNumbers = true,
        };
        if (_modules.TryGetValue(uuid, out var module))
        {
            mapping.MemoryStart = module.Base;
            mapping.MemoryLimit = module.Base + module.Size;
            mapping.Filename = String(module.Path ?? module.Name);
        }
        else
        {
            mapping.Filename = String(uuid);
        }
        _profile.Mapping.Add(mapping);
        _mappings[uuid] = mapping;
        return mapping;
    }
}
