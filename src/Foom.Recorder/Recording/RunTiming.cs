using System.Globalization;

namespace Foom.Recorder.Recording;

/// <summary>
/// With FOOM_TIMING set, `foom run` says on stderr when it reaches each step of its own work
/// before and after the program, as "foom timing: STEP UNIX_MICROSECONDS CPU_MILLISECONDS" (wall
/// clock, and the CPU time of the whole process so far), so that its fixed cost can be measured
/// step by step against a timestamp taken before it was started (bench/hook/foom-run-steps.sh).
/// </summary>
public static class RunTiming
{
    private static readonly bool Enabled = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FOOM_TIMING"));

    public static void Mark(string step)
    {
        if (!Enabled) return;
        var micros = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / (TimeSpan.TicksPerMillisecond / 1000);
        var cpu = Environment.CpuUsage.TotalTime.TotalMilliseconds;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"foom timing: {step} {micros} {cpu:F1}"));
    }
}
