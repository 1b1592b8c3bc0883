using System.Diagnostics;
using Foom.Recorder.Exits;
using Foom.Storage.Sessions;

namespace Foom.Recording.Tests.Exits;

public class MachineFactsTests
{
    [Fact]
    public void BootIdAndKernelReleaseAreThisMachines()
    {
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", MachineFacts.BootId());
        Assert.Equal(Environment.OSVersion.Version.Major, int.Parse(MachineFacts.KernelRelease()!.Split('.')[0]));
    }

    [Fact]
    public void AProcessesNameAndStartTimeAreRead()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var sleeper = Process.Start(new ProcessStartInfo("/bin/sleep", "30"))!;
        try
        {
            Assert.Equal("sleep", MachineFacts.ProcessName(sleeper.Id));
            var started = SessionLiveness.ProcessStartTime(sleeper.Id);
            // The kernel's boot time has whole seconds: allow that much either way.
            Assert.InRange(started!.Value, before - 2_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 2_000);
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
        }
        Assert.Null(SessionLiveness.ProcessStartTime(sleeper.Id));
        Assert.Null(MachineFacts.ProcessName(1 << 23));
    }

    [Fact]
    public void ADebuggerAttachedToAProcessIsSeenAsItsTracer()
    {
        using var sleeper = Process.Start(new ProcessStartInfo("/bin/sleep", "30"))!;
        // A minimal debugger: python3 attaches with ptrace, waits, detaches.
        var script = "import ctypes,os,time,sys\n" +
                     "libc=ctypes.CDLL(None,use_errno=True)\n" +
                     $"pid={sleeper.Id}\n" +
                     "assert libc.ptrace(16,pid,0,0)==0, os.strerror(ctypes.get_errno())\n" +
                     "os.waitpid(pid,0)\nprint('attached',flush=True)\nsys.stdin.readline()\nlibc.ptrace(17,pid,0,0)\n";
        using var debugger = Process.Start(new ProcessStartInfo("python3", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardInput = true })!;
        try
        {
            Assert.Equal(0, MachineFacts.TracerPid(Environment.ProcessId));
            Assert.Equal("attached", debugger.StandardOutput.ReadLine());
            Assert.Equal(debugger.Id, MachineFacts.TracerPid(sleeper.Id));
        }
        finally
        {
            debugger.StandardInput.WriteLine();
            debugger.WaitForExit(10_000);
            sleeper.Kill();
            sleeper.WaitForExit();
        }
    }
}
