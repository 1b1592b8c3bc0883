using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Foom.Testing;

/// <summary>
/// Compiles the C (and C++) test programs under Programs/ with the machine's gcc (g++), once per source and
/// flag set, into a cache folder. Tests run real processes built from real sources; a machine
/// without gcc fails these tests loudly (.ci/run installs it).
/// </summary>
public static class CProgram
{
    /// <summary>Flags for a program whose stacks the hook walks by frame pointers.</summary>
    public const string WithFramePointers = "-O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls";

    /// <summary>Flags for a program without frame pointers, whose stacks the hook unwinds from its unwind tables.</summary>
    public const string WithoutFramePointers = "-O1 -g -fomit-frame-pointer -fno-optimize-sibling-calls";

    private static readonly string CacheDirectory =
        Path.Combine(Path.GetTempPath(), "foom-test-programs", Environment.UserName);

    private static readonly Lock CompileLock = new();

    /// <summary>The folder that holds the C sources copied beside the test assembly.</summary>
    public static string SourceDirectory => Path.Combine(AppContext.BaseDirectory, "Programs");

    /// <summary>
    /// Builds Programs/<paramref name="sourceName"/> with <paramref name="flags"/> (for example
    /// "-O1 -fno-omit-frame-pointer" or "-shared -fPIC") and returns the path of the binary.
    /// </summary>
    public static string Build(string sourceName, string flags = "-O1 -g", string? outputSuffix = null)
    {
        var source = Path.Combine(SourceDirectory, sourceName);
        if (!File.Exists(source)) throw new FileNotFoundException($"test program source {source} is missing", source);
        // Headers beside the sources (foom_ring.h, foom.h) are part of every program's identity.
        var headers = Directory.GetFiles(SourceDirectory, "*.h").Order(StringComparer.Ordinal).Select(File.ReadAllText);
        // So are sources compiled in with it (a hook file named in the flags: cfi_fuzz.c's cfi.c).
        var compiledIn = flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(File.Exists).Select(File.ReadAllText);
        var identity = string.Join("\0", [File.ReadAllText(source), flags, .. headers, .. compiledIn]);
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16];
        var name = Path.GetFileNameWithoutExtension(sourceName) + (outputSuffix ?? "") + "-" + key;
        var output = Path.Combine(CacheDirectory, name);
        lock (CompileLock)
        {
            if (File.Exists(output)) return output;
            Directory.CreateDirectory(CacheDirectory);
            var temporary = output + ".tmp" + Environment.ProcessId;
            var arguments = $"{flags} -o \"{temporary}\" \"{source}\" -lpthread -ldl";
            // C++ sources go to g++ so the C++ runtime is linked after them.
            var compiler = Path.GetExtension(sourceName) == ".cpp" ? "g++" : "gcc";
            var start = new ProcessStartInfo(compiler, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
            using var gcc = Process.Start(start) ?? throw new InvalidOperationException($"{compiler} could not be started");
            var errors = gcc.StandardError.ReadToEnd();
            gcc.WaitForExit();
            if (gcc.ExitCode != 0) throw new InvalidOperationException($"{compiler} {arguments} failed:\n{errors}");
            File.Move(temporary, output, overwrite: true);
            return output;
        }
    }
}
