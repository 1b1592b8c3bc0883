namespace Foom.Symbols.Tests.Support;

/// <summary>
/// Real Mach-O images built on Linux: clang compiles for an Apple target, ld64.lld (LLVM's Mach-O
/// linker) links a dylib or an executable with an LC_UUID, llvm-lipo makes a universal file and
/// dsymutil a dSYM. Debian packages: clang, lld, llvm (.ci/run installs them).
/// </summary>
public static class MachOBuild
{
    /// <summary>A tool from PATH, else from the newest /usr/lib/llvm-N/bin.</summary>
    public static string Llvm(string name)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate)) return candidate;
        }
        var versioned = Directory.Exists("/usr/lib")
            ? Directory.GetDirectories("/usr/lib", "llvm-*")
                .Select(d => Path.Combine(d, "bin", name)).Where(File.Exists)
                .OrderByDescending(p => int.TryParse(p.Split('/')[3]["llvm-".Length..], out var v) ? v : 0).FirstOrDefault()
            : null;
        return versioned ?? throw new InvalidOperationException($"{name} is not installed (Debian packages clang, lld and llvm have it; .ci/run installs them)");
    }

    /// <summary>The object file for <paramref name="architecture"/> ("arm64" or "x86_64").</summary>
    public static string Object(string sourceName, string architecture) =>
        Native.Cached(Native.Source(sourceName), $"clang {architecture} -O1 -g", output =>
            Native.Run(Llvm("clang"), $"-target {Target(architecture)} -O1 -g -c -o \"{output}\" \"{Native.Source(sourceName)}\""));

    /// <summary>A dylib (__TEXT at 0) or an executable (__TEXT at 0x100000000 after __PAGEZERO).</summary>
    public static string Link(string sourceName, string architecture, bool executable = false)
    {
        var objectFile = Object(sourceName, architecture);
        var kind = executable ? "-execute -e _mach_entry" : "-dylib";
        return Native.Cached(objectFile, $"ld64.lld {architecture} {kind}", output =>
            Native.Run(Llvm("ld64.lld"), $"-arch {architecture} -platform_version macos 11.0 11.0 {kind} -o \"{output}\" \"{objectFile}\""));
    }

    /// <summary>A universal file of the arm64 and x86_64 dylibs.</summary>
    public static string Universal(string sourceName)
    {
        var arm = Link(sourceName, "arm64");
        var intel = Link(sourceName, "x86_64");
        return Native.Cached(arm, "lipo with " + File.ReadAllBytes(intel).Length + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(intel))), output =>
            Native.Run(Llvm("llvm-lipo"), $"-create \"{arm}\" \"{intel}\" -output \"{output}\""));
    }

    /// <summary>The DWARF companion inside a dSYM made by dsymutil from <paramref name="image"/>.</summary>
    public static string DsymCompanion(string image) =>
        Native.Cached(image, "dsymutil", output =>
        {
            var bundle = output + ".dSYM";
            if (Directory.Exists(bundle)) Directory.Delete(bundle, recursive: true);
            Native.Run(Llvm("dsymutil"), $"\"{image}\" -o \"{bundle}\"");
            var companion = Directory.GetFiles(Path.Combine(bundle, "Contents", "Resources", "DWARF")).Single();
            File.Copy(companion, output, overwrite: true);
        });

    /// <summary>The UUIDs llvm-dwarfdump prints, by architecture, normalized.</summary>
    public static Dictionary<string, string> Uuids(string file)
    {
        var result = new Dictionary<string, string>();
        foreach (var line in Native.Run(Llvm("llvm-dwarfdump"), $"--uuid \"{file}\"").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // UUID: 4C4C441E-5555-3144-A10B-AAF18E030C8E (arm64) path
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 3 && parts[0] == "UUID:") result[parts[2].Trim('(', ')')] = BuildIds.Normalize(parts[1])!;
        }
        return result;
    }

    /// <summary>Defined functions as llvm-nm lists them (names without the leading underscore).</summary>
    public static List<(string Name, ulong Address)> NmFunctions(string file, string architecture)
    {
        var result = new List<(string, ulong)>();
        foreach (var line in Native.Run(Llvm("llvm-nm"), $"--defined-only --arch={architecture} \"{file}\"").Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3 || parts[1] is not ("T" or "t") || parts[2] == "__mh_execute_header") continue;
            result.Add((parts[2].StartsWith('_') ? parts[2][1..] : parts[2], Convert.ToUInt64(parts[0], 16)));
        }
        return result;
    }

    private static string Target(string architecture) => architecture switch
    {
        "arm64" => "arm64-apple-macos11",
        "x86_64" => "x86_64-apple-darwin",
        _ => throw new ArgumentException(architecture),
    };
}
