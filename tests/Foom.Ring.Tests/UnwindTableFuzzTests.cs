using System.Diagnostics;
using Foom.Testing;

namespace Foom.Ring.Tests;

/// <summary>The hook's unwind-table reader (native/foomhook/cfi.c) run by a C driver
/// (Programs/cfi_fuzz.c, built with AddressSanitizer and UBSan) on real Debian ELF files and on
/// corrupted copies of their .eh_frame_hdr and .eh_frame: it reads the real tables and never
/// reads outside them, faults or hangs on the corrupted ones.</summary>
public class UnwindTableFuzzTests
{
    private static readonly string[] Files =
    [
        "/usr/bin/gawk", "/usr/bin/jq", "/usr/bin/sqlite3", "/usr/bin/python3.11", "/usr/bin/xz",
        "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
    ];

    [Fact]
    public async Task TheTableReaderReadsRealTablesAndSurvivesCorruptedOnes()
    {
        var directory = CProgram.SourceDirectory;
        var driver = CProgram.Build("cfi_fuzz.c",
            $"-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -I{directory} {Path.Combine(directory, "cfi.c")} {Path.Combine(directory, "module_image.c")}");
        var seed = Random.Shared.Next(1, int.MaxValue);
        var start = new ProcessStartInfo(driver) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "2000" }.Concat(Files))
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{driver} did not start");
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"cfi_fuzz (seed {seed}) hung:\n{await output}");
        }
        var text = await output;
        Assert.True(process.ExitCode == 0, $"cfi_fuzz seed {seed} exited {process.ExitCode}:\n{text}\n{await error}");
        foreach (var file in Files)
        {
            Assert.Contains($"fuzzed {file} 2000", text);
            // Every function in the search table has an FDE: its start and a pc up to 64 bytes in (past
            // the end of the smallest functions) give a rule for nearly all.
            var line = text.Split('\n').Single(l => l.StartsWith(file + " functions=", StringComparison.Ordinal));
            var counts = line.Split(' ').Skip(1).Select(p => p.Split('=')).ToDictionary(p => p[0], p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
            var found = counts["rsp"] + counts["rbp"] + counts["outermost"];
            Assert.True(found >= 1.5 * counts["functions"], line);
        }
    }
}
