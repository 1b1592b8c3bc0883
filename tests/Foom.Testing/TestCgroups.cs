using System.Diagnostics;
using Foom.Recorder.Limits;

namespace Foom.Testing;

/// <summary>
/// Memory cgroups for tests: made fresh with a unique name, removed by the test. A machine that
/// cannot make one fails the test and says why, never skips it.
/// </summary>
public static class TestCgroups
{
    public static OwnedMemoryCgroup Create(long limitBytes)
    {
        RemoveLeftoversOfDeadRuns();
        var creation = OwnedMemoryCgroup.Create($"foom-test-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40], limitBytes);
        if (!creation.Succeeded)
            Assert.Fail("this test needs a memory cgroup it can create (root, and the memory controller on cgroup v1 or v2; " +
                        $".ci/run runs as root): {creation.WhyNot}");
        return creation.Group;
    }

    private static int _leftoversRemoved;

    /// <summary>
    /// A test run killed halfway leaves its groups behind (foom-test-PID-...); the next run
    /// removes those whose test process is gone, so they never pile up on a machine.
    /// </summary>
    private static void RemoveLeftoversOfDeadRuns()
    {
        if (Interlocked.Exchange(ref _leftoversRemoved, 1) != 0) return;
        var own = MemoryCgroup.OfProcess(Environment.ProcessId);
        if (own is null || !Directory.Exists(own.Directory)) return;
        foreach (var directory in Directory.EnumerateDirectories(own.Directory, "foom-test-*"))
        {
            var parts = Path.GetFileName(directory).Split('-');
            if (parts.Length < 3 || !int.TryParse(parts[2], out var pid) || pid == Environment.ProcessId) continue;
            if (Directory.Exists($"/proc/{pid}")) continue;
            try
            {
                Directory.Delete(directory);
            }
            catch (IOException)
            {
                // Still holds a process: leave it.
            }
        }
    }

    /// <summary>Starts <paramref name="program"/> inside <paramref name="group"/> through the trampoline, output captured.</summary>
    public static Process StartInside(OwnedMemoryCgroup group, string program, params string[] arguments)
    {
        var (executable, argv) = group.WrapInTrampoline(program, [program, .. arguments]);
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in argv.Skip(1)) start.ArgumentList.Add(argument);
        return Process.Start(start) ?? throw new InvalidOperationException($"{executable} could not be started");
    }

    /// <summary>Waits for the process with a generous timeout (a loaded 2-core machine), killing it if it hangs.</summary>
    public static void WaitOrKill(Process process, TimeSpan? timeout = null)
    {
        if (process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2))) return;
        process.Kill(entireProcessTree: true);
        Assert.Fail($"process {process.Id} did not end in time");
    }
}
