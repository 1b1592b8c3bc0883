using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Foom.Symbols.Tests.Support;

/// <summary>
/// Builds the test binaries from Programs/ with the machine's real toolchain (gcc, g++, strip,
/// objcopy, clang, ld64.lld) and runs the binutils the tests compare against (readelf, nm).
/// Outputs are cached by a hash of the source and the command, so each binary is built once per
/// machine. A missing tool fails the test with a message naming the Debian package that has it
/// (.ci/run installs them).
/// </summary>
public static class Native
{
    private static readonly string CacheDirectory =
        Path.Combine(Path.GetTempPath(), "foom-test-programs", Environment.UserName, "symbols");

    private static readonly ConcurrentDictionary<string, Lazy<string>> Built = new();

    public static string SourceDirectory => Path.Combine(AppContext.BaseDirectory, "Programs");

    public static string Source(string name) => Path.Combine(SourceDirectory, name);

    /// <summary>Compiles Programs/<paramref name="sourceName"/> (C with gcc, C++ with g++) with <paramref name="flags"/>.</summary>
    public static string Compile(string sourceName, string flags)
    {
        var compiler = sourceName.EndsWith(".cpp", StringComparison.Ordinal) ? "g++" : "gcc";
        return Cached(sourceName, compiler + " " + flags, (output) =>
            Run(compiler, $"{flags} -o \"{output}\" \"{Source(sourceName)}\""));
    }

    /// <summary>A copy of <paramref name="binary"/> passed through <c>strip <paramref name="options"/></c>.</summary>
    public static string Strip(string binary, string options = "--strip-all") =>
        Cached(binary, "strip " + options, output => Run("strip", $"{options} -o \"{output}\" \"{binary}\""));

    /// <summary>Runs a command in a cache slot: <paramref name="make"/> writes the given path.</summary>
    public static string Cached(string input, string recipe, Action<string> make)
    {
        var inputBytes = File.Exists(input) ? File.ReadAllBytes(input) : Encoding.UTF8.GetBytes(input);
        var key = Convert.ToHexString(SHA256.HashData([.. inputBytes, 0, .. Encoding.UTF8.GetBytes(recipe)]))[..16];
        var output = Path.Combine(CacheDirectory, Path.GetFileNameWithoutExtension(input) + "-" + key);
        return Built.GetOrAdd(output, path => new Lazy<string>(() =>
        {
            if (File.Exists(path)) return path;
            Directory.CreateDirectory(CacheDirectory);
            var temporary = path + ".tmp" + Environment.ProcessId;
            make(temporary);
            File.Move(temporary, path, overwrite: true);
            return path;
        })).Value;
    }

    /// <summary>Runs a tool to completion and returns its standard output; fails loudly if it fails.</summary>
    public static string Run(string tool, string arguments, string? standardInput = null)
    {
        var start = new ProcessStartInfo(tool, arguments)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = standardInput != null,
        };
        Process process;
        try { process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} could not be started"); }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is not installed ({e.Message}); .ci/run installs it", e);
        }
        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEndAsync();
            if (standardInput != null)
            {
                process.StandardInput.Write(standardInput);
                process.StandardInput.Close();
            }
            if (!process.WaitForExit(TimeSpan.FromMinutes(2))) { process.Kill(); throw new TimeoutException($"{tool} {arguments} did not finish"); }
            if (process.ExitCode != 0) throw new InvalidOperationException($"{tool} {arguments} failed ({process.ExitCode}):\n{errors.Result}");
            return output.Result;
        }
    }

    /// <summary>The build-id as <c>readelf -n</c> prints it, or null.</summary>
    public static string? ReadelfBuildId(string binary)
    {
        foreach (var line in Run("readelf", $"-n \"{binary}\"").Split('\n'))
        {
            var at = line.IndexOf("Build ID:", StringComparison.Ordinal);
            if (at >= 0) return line[(at + "Build ID:".Length)..].Trim();
        }
        return null;
    }

    /// <summary>Defined function symbols as <c>nm -S</c> lists them: name, address, size.</summary>
    public static List<(string Name, ulong Address, ulong Size)> NmFunctions(string binary, bool dynamic = false)
    {
        var result = new List<(string, ulong, ulong)>();
        foreach (var line in Run("nm", $"-S --defined-only {(dynamic ? "-D " : "")}\"{binary}\"").Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 4 || parts[2] is not ("T" or "t" or "W" or "i")) continue;
            var name = parts[3].Split('@')[0]; // nm -D prints symbol versions (malloc@@GLIBC_2.2.5); symbol tables do not
            result.Add((name, Convert.ToUInt64(parts[0], 16), Convert.ToUInt64(parts[1], 16)));
        }
        return result;
    }

    /// <summary>The 1-based line of Programs/<paramref name="sourceName"/> marked <c>LINE:<paramref name="marker"/></c>.</summary>
    public static int MarkedLine(string sourceName, string marker)
    {
        var lines = File.ReadAllLines(Source(sourceName));
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains("LINE:" + marker + " ", StringComparison.Ordinal)) return i + 1;
        }
        throw new InvalidOperationException($"no LINE:{marker} in {sourceName}");
    }
}
