using Foom.Managed;
using Foom.Recorder.Exits;
using Foom.Storage.Managed;
using Foom.Storage.Sessions;

namespace Foom.Managed.Tests;

/// <summary>The GC heap hard limit as the runtime derives it, the runtime's crash report, and the rule that makes an OutOfMemoryException death a memory death.</summary>
public sealed class DotnetDeathEvidenceTests : IDisposable
{
    private const long MiB = 1 << 20;
    private static readonly Dictionary<string, string> None = new();
    private readonly string _session = Directory.CreateTempSubdirectory("foom-dotnet-death-").FullName;

    [Fact]
    public void TheHardLimitComesFromTheSettingThenThePercentThenTheCgroupsSeventyFivePercent()
    {
        Assert.Equal((150 * MiB, "the runtime's default in a memory cgroup: 75 % of the cgroup's limit"),
            Of(GcHeapHardLimit.From(None, None, 200 * MiB)));
        // The environment's values are hexadecimal: 0x6400000 is 100 MiB, "32" is 50 %.
        Assert.Equal(100 * MiB, GcHeapHardLimit.From(Vars(("DOTNET_GCHeapHardLimit", "0x6400000")), None, 200 * MiB).Bytes);
        Assert.Equal(100 * MiB, GcHeapHardLimit.From(Vars(("COMPlus_GCHeapHardLimitPercent", "32")), None, 200 * MiB).Bytes);
        // runtimeconfig.json's are decimal, and the environment wins over them.
        Assert.Equal(300 * MiB, GcHeapHardLimit.From(None, Vars(("System.GC.HeapHardLimit", (300 * MiB).ToString())), 200 * MiB).Bytes);
        Assert.Equal(100 * MiB, GcHeapHardLimit.From(Vars(("DOTNET_GCHeapHardLimit", "6400000")), Vars(("System.GC.HeapHardLimit", "1")), null).Bytes);
        Assert.Equal(40 * MiB, GcHeapHardLimit.From(None, Vars(("System.GC.HeapHardLimitPercent", "20")), 200 * MiB).Bytes);
        // A small cgroup still gets 20 MiB; no cgroup and no setting, no limit.
        Assert.Equal(20 * MiB, GcHeapHardLimit.From(None, None, 16 * MiB).Bytes);
        var none = GcHeapHardLimit.From(None, None, null);
        Assert.Null(none.Bytes);
        Assert.StartsWith("none", none.Source);
    }

    [Fact]
    public void ACrashReportOfAnOutOfMemoryDeathIsAForegroundOomWithTheExceptionAndItsStack()
    {
        File.WriteAllText(Path.Combine(_session, "dotnet-crash.42.crashreport.json"), """
            {"payload":{"protocol_version":"1.0.0","threads":[
              {"is_managed":"true","crashed":"false","stack_frames":[]},
              {"is_managed":"true","crashed":"true","managed_exception_type":"System.OutOfMemoryException","managed_exception_hresult":"0x8007000e",
               "stack_frames":[{"is_managed":"false","native_module":"libcoreclr.so"},
                               {"is_managed":"true","method_name":"System.Collections.Generic.List`1.AddWithResize(T)"},
                               {"is_managed":"true","method_name":"Shop.Orders.Add(Int64)"}]}]}}
            """);
        var status = new ManagedStatus { GcHeapHardLimitBytes = 150 * MiB, GcHeapHardLimitSource = "75 %", GcHeapBytes = 149 * MiB, GcHeapTime = 1000 };
        var found = DotnetOutOfMemory.Find(_session, status, 2000, out var problem);
        Assert.Null(problem);
        Assert.NotNull(found);
        var verdict = ExitClassifier.Observe(new ObservedDeath { Signal = 6, DotnetOutOfMemory = found });
        Assert.Equal(ExitReason.ForegroundOom, verdict.Reason);
        Assert.Equal("dotnet_out_of_memory", verdict.Mechanism);
        Assert.Equal("dotnet_out_of_memory", verdict.ToEnd(0, 134, 6).Mechanism);
        Assert.Contains("the .NET runtime's crash report: unhandled System.OutOfMemoryException (HRESULT 0x8007000e) on the crashed thread, " +
                        "thrown in System.Collections.Generic.List`1.AddWithResize(T) ← Shop.Orders.Add(Int64)", verdict.Evidence);
        Assert.Contains("GC heap hard limit 150.0 MiB: 75 %", verdict.Evidence);
        Assert.Contains(verdict.Evidence, e => e.StartsWith("GC heap 149.0 MiB after the last collection", StringComparison.Ordinal));
        // Without the evidence, the same signal is a crash.
        Assert.Equal(ExitReason.Crash, ExitClassifier.Observe(new ObservedDeath { Signal = 6 }).Reason);
    }

    [Fact]
    public void ATruncatedCrashReportIsNamedAndTheDiagnosticsPortsExceptionStillTells()
    {
        File.WriteAllText(Path.Combine(_session, "dotnet-crash.42.crashreport.json"), """{"payload":{"threads":[{"crashed":"tr""");
        var status = new ManagedStatus
        {
            OutOfMemoryExceptions = [new ManagedExceptionEvent { Time = 1000, Type = "System.OutOfMemoryException", Message = "Array dimensions exceeded supported range.", Frames = ["Shop.Images.Decode()"] }],
            OutOfMemoryExceptionsTotal = 1,
        };
        var found = DotnetOutOfMemory.Find(_session, status, 2000, out var problem);
        Assert.Contains("dotnet-crash.42.crashreport.json is not valid JSON", problem);
        Assert.NotNull(found);
        Assert.Contains(found.Evidence, e => e.Contains("the diagnostics port saw System.OutOfMemoryException thrown", StringComparison.Ordinal)
                                             && e.Contains("Shop.Images.Decode()", StringComparison.Ordinal));
        Assert.Contains(found.Evidence, e => e.Contains("not valid JSON", StringComparison.Ordinal));
        // An OutOfMemoryException long before the death (caught, and the program went on) is not its cause.
        Assert.Null(DotnetOutOfMemory.Find(_session, status, 1000 + 31_000, out _));
    }

    private static Dictionary<string, string> Vars(params (string Name, string Value)[] pairs) => pairs.ToDictionary(p => p.Name, p => p.Value);

    private static (long?, string) Of(GcHeapHardLimit limit) => (limit.Bytes, limit.Source);

    public void Dispose() => Directory.Delete(_session, recursive: true);
}
