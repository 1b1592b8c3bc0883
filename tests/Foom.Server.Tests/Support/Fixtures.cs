using System.Text.Json;
using Foom.Report.Model;

namespace Foom.Server.Tests.Support;

/// <summary>Reports to upload, written from the format's description (docs/report-format.md).</summary>
public static class Fixtures
{
    public const string AppUuid = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    public const string LibcUuid = "libc0000000000000000000000000001";
    public const string HookUuid = "hook0000000000000000000000000001";

    public static ReportFrame Frame(string uuid, ulong offset, string? function = null) => new() { Uuid = uuid, Offset = offset, Function = function };

    /// <summary>A stack as the recorder writes it: hook, malloc, then the app's frames (innermost first).</summary>
    public static ReportStack Stack(long size, long count, params string[] appFunctions)
    {
        var frames = new List<ReportFrame> { Frame(HookUuid, 0x1200, "foom_malloc"), Frame(LibcUuid, 0x9a0e0, "malloc") };
        ulong offset = 0x4000;
        foreach (var function in appFunctions) frames.Add(Frame(AppUuid, offset += 0x40, function));
        return new ReportStack { Caller = $"{AppUuid}@{frames[2].Offset}", Size = size, Count = count, Frames = frames };
    }

    public static ReportItem Item(string name, long size, long count, params ReportStack[] stacks) =>
        new() { Name = name, Size = size, Count = count, Stacks = [.. stacks] };

    public static Report.Model.Report Linux(string reportId, string app = "demo-app", string version = "1.0.0", string device = "host-1", string user = "user-1",
        long? footprint = null, long? limit = null, params ReportItem[] items)
    {
        var live = items.Sum(i => i.Size);
        return new Report.Model.Report
        {
            Head = new ReportHead
            {
                ReportId = reportId, Platform = "linux", AppId = app, AppVersion = version, AppUuid = AppUuid,
                DeviceId = device, UserId = user, Phone = "test-host", OsVersion = "6.1.0", LaunchTime = 1_760_000_000_000,
                ReportTime = 1_760_000_060_000, ExitReason = "foreground_oom", ExitHow = "observed", ExitEvidence = ["cgroup oom_kill 1"],
                LimitBytes = limit, FootprintBytes = footprint ?? live, PeakFootprintBytes = footprint ?? live,
                LiveBytes = live, LiveCount = items.Sum(i => i.Count), Scene = "main",
            },
            Modules =
            [
                new ReportModule { Uuid = HookUuid, Name = "libfoomhook.so", Path = "/opt/foom/lib/libfoomhook.so", Base = 0x7f0000000000, Size = 0x20000 },
                new ReportModule { Uuid = LibcUuid, Name = "libc.so.6", Path = "/usr/lib/x86_64-linux-gnu/libc.so.6", Base = 0x7f1000000000, Size = 0x200000 },
                new ReportModule { Uuid = AppUuid, Name = "demo", Path = "/home/dev/demo/bin/demo", Base = 0x555500000000, Size = 0x100000 },
            ],
            Items = [.. items],
        };
    }

    public static string Json(Report.Model.Report report) => JsonSerializer.Serialize(report);

    /// <summary>
    /// A Matrix memstat report as an iOS app writes it: no report id, no modules table, times in
    /// seconds, frames as bare uuid/offset pairs, and the caller already chosen on the device.
    /// </summary>
    public static string Matrix(string phone = "iPhone12,1", int imageCount = 3000, string appUuid = "5D3A1B2C9E8F4A7B8C6D5E4F3A2B1C0D", int seed = 1) => $$"""
        {"head":{"protocol_ver":1,"phone":"{{phone}}","os_ver":"14.2","launch_time":1602770000,"report_time":1602770998,
                 "app_uuid":"{{appUuid}}","app_version":"8.0.{{seed}}","device_id":"dev-{{seed}}","user_id":"wx-{{seed}}","custom_key":"kept"},
         "items":[
          {"tag":"iOS_MemStat","info":"","scene":"ChatViewController","name":"UIImage","size":{{imageCount * 1_048_576L}},"count":{{imageCount}},
           "stacks":[{"caller":"{{appUuid}}@1052672","size":{{imageCount * 1_048_576L}},"count":{{imageCount}},
                      "frames":[{"uuid":"7C2E1F00AABBCCDD0011223344556677","offset":20480},{"uuid":"{{appUuid}}","offset":1052672},{"uuid":"{{appUuid}}","offset":1060000}]}]},
          {"tag":"iOS_MemStat","info":"","scene":"","name":"Malloc 48 Bytes","size":4800000,"count":100000,"stacks":[]},
          {"tag":"iOS_MemStat","info":"","scene":"","name":"VM: IOKit","size":52428800,"count":12,"stacks":[]}
         ]}
        """;
}
