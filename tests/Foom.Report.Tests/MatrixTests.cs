using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Foom.Report.IO;
using Foom.Report.Tests.Support;
using Foom.Report.Views;

namespace Foom.Report.Tests;

/// <summary>
/// Matrix memstat reports (written by iOS apps that use Tencent Matrix): read, shown with the
/// same views, written back unchanged; and Foom's reports read by a reader that knows only
/// Matrix's fields.
/// </summary>
public class MatrixTests : IDisposable
{
    private static readonly string SamplePath = Path.Combine(AppContext.BaseDirectory, "Data", "matrix-memstat.json");
    private readonly string _dir = Directory.CreateTempSubdirectory("foom-matrix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AMatrixReportIsReadWithItsCustomKeys()
    {
        var report = ReportReader.Read(SamplePath);
        Assert.Equal(1, report.Head.ProtocolVersion);
        Assert.Equal("iPhone12,1", report.Head.Phone);
        Assert.Equal("5D2B63B4-8A77-3C3F-9C4E-1F0E5A6B7C8D", report.Head.AppUuid);
        Assert.Equal("1234567", report.Head.Extra!["uin"].GetString());
        Assert.Equal(["VM: IOSurface", "UIImageView", "Malloc 48 Bytes", "Alloc Fail"], report.Items.Select(i => i.Name));
        Assert.Equal(5, report.Items[0].Extra!["vmtype"].GetInt32());
        Assert.Empty(report.Items[2].Stacks);        // Matrix leaves "stacks" out when it lists none
        Assert.Equal(1234568UL, report.Items[0].Stacks[0].Frames[2].Offset);
    }

    [Fact]
    public void ReadWriteReadGivesTheSameReport()
    {
        var first = ReportReader.Read(SamplePath);
        var path = Path.Combine(_dir, "again.json");
        ReportWriter.Save(first, path);
        var second = ReportReader.Read(path);
        Assert.Equal(Json(first), Json(second));
        // Nothing of the original is lost: every field it had is still there with its value.
        using var original = JsonDocument.Parse(File.ReadAllBytes(SamplePath));
        using var written = JsonDocument.Parse(File.ReadAllBytes(path));
        AssertContains(original.RootElement, written.RootElement, "");
    }

    [Fact]
    public void AMatrixReportIsShownWithTheSameViews()
    {
        var report = ReportReader.Read(SamplePath);
        var text = ViewTests.Render(report);
        Assert.Contains("VM: IOSurface", text);
        Assert.Contains("UIImageView", text);
        Assert.Contains("ios (Matrix)", text);
        Assert.Contains("201.00 MiB in 2,176 blocks", text);          // totals summed from the items
        Assert.Contains("2023-11-14 22:13:20 UTC", text);            // Matrix's seconds read as seconds

        var collapsed = new StringWriter();
        CollapsedView.Write(report, collapsed);
        var lines = collapsed.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // No modules table in a Matrix report: frames are named uuid@offset, outermost first.
        Assert.Contains("5D2B63B4-8A77-3C3F-9C4E-1F0E5A6B7C8D@1200000;5D2B63B4-8A77-3C3F-9C4E-1F0E5A6B7C8D@1234568;A1B2C3D4-0000-1111-2222-333344445555@41100;A1B2C3D4-0000-1111-2222-333344445555@40960;[VM: IOSurface] 167772160", lines);
        Assert.Equal(report.Items.Sum(i => i.Size), lines.Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..])));

        using var speedscope = new MemoryStream();
        SpeedscopeView.Write(report, "matrix", speedscope);
        using var document = JsonDocument.Parse(speedscope.ToArray());
        Assert.Equal(report.Items.Sum(i => i.Size),
            document.RootElement.GetProperty("profiles")[0].GetProperty("weights").EnumerateArray().Sum(w => w.GetInt64()));
    }

    [Fact]
    public void FoomFieldsDoNotDisturbAReaderThatKnowsOnlyMatrixFields()
    {
        var foom = TestHeap.LinuxReport();
        foom.Head.ExitReason = "foreground_oom";
        foom.Head.FootprintSamples = [[1, 2], [3, 4]];
        var json = ReportJson.ToUtf8(foom);

        var matrix = JsonSerializer.Deserialize<MatrixOnly.Report>(json)!;
        Assert.Equal(1, matrix.Head.ProtocolVer);
        Assert.Equal(foom.Items.Select(i => (i.Name, i.Size, i.Count)), matrix.Items.Select(i => (i.Name, i.Size, i.Count)));
        var stack = foom.Items[0].Stacks[0];
        var matrixStack = matrix.Items[0].Stacks![0];
        Assert.Equal(stack.Caller, matrixStack.Caller);
        Assert.Equal(stack.Frames.Select(f => (f.Uuid, f.Offset)), matrixStack.Frames.Select(f => (f.Uuid, f.Offset)));
    }

    private static string Json(Model.Report report) => Encoding.UTF8.GetString(ReportJson.ToUtf8(report));

    /// <summary>Every property of <paramref name="expected"/> is in <paramref name="actual"/> with an equal value.</summary>
    private static void AssertContains(JsonElement expected, JsonElement actual, string path)
    {
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in expected.EnumerateObject())
                {
                    Assert.True(actual.TryGetProperty(property.Name, out var value), $"{path}.{property.Name} was lost");
                    AssertContains(property.Value, value, $"{path}.{property.Name}");
                }
                break;
            case JsonValueKind.Array:
                Assert.Equal(expected.GetArrayLength(), actual.GetArrayLength());
                for (var i = 0; i < expected.GetArrayLength(); i++) AssertContains(expected[i], actual[i], $"{path}[{i}]");
                break;
            default:
                Assert.True(expected.GetRawText() == actual.GetRawText(), $"{path}: {expected.GetRawText()} became {actual.GetRawText()}");
                break;
        }
    }

    /// <summary>Matrix's report shape and nothing more, as a Matrix-only server would read it.</summary>
    private static class MatrixOnly
    {
        public sealed class Report
        {
            [JsonPropertyName("head")] public Head Head { get; set; } = new();
            [JsonPropertyName("items")] public List<Item> Items { get; set; } = [];
        }

        public sealed class Head
        {
            [JsonPropertyName("protocol_ver")] public int ProtocolVer { get; set; }
            [JsonPropertyName("app_uuid")] public string? AppUuid { get; set; }
        }

        public sealed class Item
        {
            [JsonPropertyName("name")] public string Name { get; set; } = "";
            [JsonPropertyName("size")] public long Size { get; set; }
            [JsonPropertyName("count")] public long Count { get; set; }
            [JsonPropertyName("stacks")] public List<Stack>? Stacks { get; set; }
        }

        public sealed class Stack
        {
            [JsonPropertyName("caller")] public string Caller { get; set; } = "";
            [JsonPropertyName("frames")] public List<Frame> Frames { get; set; } = [];
        }

        public sealed class Frame
        {
            [JsonPropertyName("uuid")] public string Uuid { get; set; } = "";
            [JsonPropertyName("offset")] public ulong Offset { get; set; }
        }
    }
}
