using System.Security.Cryptography;
using Foom.Symbols.Elf;

namespace Foom.Recorder.Launch;

/// <summary>
/// Facts about the program `foom run` starts: the identity of its code (an upgrade changes it,
/// which the exit-reason rules compare across launches), whether the hook can load into it at
/// all, and the OS it runs on.
/// </summary>
public static class ProgramFacts
{
    private static readonly HashSet<string> Interpreters = new(StringComparer.Ordinal)
    {
        "python", "python3", "dotnet", "node", "java", "ruby", "perl", "bash", "sh", "dash", "php", "lua",
    };

    /// <summary>PRETTY_NAME from /etc/os-release, the OS the way people name it.</summary>
    public static string? OsVersion()
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/os-release"))
                if (line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)) return line[12..].Trim('"');
        }
        catch (IOException)
        {
            // No os-release: the kernel release still says which OS ran.
        }
        return null;
    }

    /// <summary>
    /// The identity of the app's code: the main binary's GNU build-id; for an interpreter running
    /// a file (python3 app.py, dotnet app.dll) a digest of that file, since upgrading the app
    /// changes the file and not the interpreter; for an ELF without a build-id, a digest of it.
    /// </summary>
    public static (string Path, string? Id) MainBinary(string executable, IReadOnlyList<string> argv)
    {
        var name = Path.GetFileName(executable);
        var interpreter = Interpreters.Contains(name) || name.StartsWith("python3.", StringComparison.Ordinal);
        if (interpreter)
        {
            var script = argv.Skip(1).FirstOrDefault(a => !a.StartsWith('-') && File.Exists(a));
            if (script is not null) return (Path.GetFullPath(script), Digest(script));
        }
        try
        {
            return (executable, ElfFile.ReadBuildId(executable) ?? Digest(executable));
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or Foom.Symbols.SymbolFileException)
        {
            return (executable, Digest(executable));
        }
    }

    /// <summary>
    /// True when the executable is an ELF file without an interpreter (statically linked): the
    /// dynamic loader never runs, so LD_PRELOAD cannot load the hook.
    /// </summary>
    public static bool IsStaticallyLinked(string executable)
    {
        try
        {
            using var elf = ElfFile.Open(executable);
            const uint interpreterSegment = 3; // PT_INTERP
            return elf.Segments.All(segment => segment.Type != interpreterSegment);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException or Foom.Symbols.SymbolFileException)
        {
            // Not ELF (a script: its interpreter loads the hook) or unreadable: try the hook.
            return false;
        }
    }

    private static string? Digest(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
