using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Foom.Report.IO;
using Foom.Report.Tests.Support;

namespace Foom.Report.Tests;

/// <summary>Reading reports back, and every way a report file can be wrong.</summary>
public class ReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("foom-reader-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Save(string text, string name = "report.json")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static JsonObject AsNode(Model.Report report) => JsonNode.Parse(ReportJson.ToUtf8(report))!.AsObject();

    /// <summary>
    /// Issue 16, finding 4: a lone surrogate escape in a module's uuid was an unhandled
    /// InvalidOperationException; a NUL went through. Both are errors naming the file and field.
    /// </summary>
    [Theory]
    [InlineData("modules", "uuid", @"\ud800", "holds a lone UTF-16 surrogate (\\ud800)")]
    [InlineData("items", "name", @"Malloc\u0000", "holds a NUL character (\\u0000)")]
    [InlineData("items", "heap", @"\udfff", "holds a lone UTF-16 surrogate (\\udfff)")]
    public void ABrokenStringIsAnErrorNamingTheFileAndField(string array, string property, string escaped, string problem)
    {
        var node = AsNode(TestHeap.LinuxReport());
        node[array]![0]![property] = "BROKEN-STRING";
        var path = Save(node.ToJsonString().Replace("BROKEN-STRING", escaped, StringComparison.Ordinal));
        var error = Assert.Throws<ReportFormatException>(() => ReportReader.Read(path));
        Assert.Equal($"{array}[0].{property}", error.Field);
        Assert.Equal($"{path}: {array}[0].{property}: {problem}", error.Message);
    }

    [Fact]
    public void AnEscapedSurrogatePairInAReportIsReadAsTheCharacter()
    {
        var node = AsNode(TestHeap.LinuxReport());
        var name = node["items"]![0]!["name"]!.GetValue<string>();
        node["items"]![0]!["name"] = "BROKEN-STRING";
        var path = Save(node.ToJsonString().Replace("BROKEN-STRING", name + @" \ud83d\udca5", StringComparison.Ordinal));
        Assert.Equal(name + " 💥", ReportReader.Read(path).Items[0].Name);
    }

    [Fact]
    public void AFoomReportReadsBackTheSame()
    {
        var report = TestHeap.LinuxReport();
        var path = Path.Combine(_dir, "r.json");
        ReportWriter.Save(report, path);
        var back = ReportReader.Read(path);
        Assert.Equal(Encoding.UTF8.GetString(ReportJson.ToUtf8(report)), Encoding.UTF8.GetString(ReportJson.ToUtf8(back)));
    }

    [Fact]
    public void AGzipedReportReadsToo()
    {
        var report = TestHeap.LinuxReport();
        var path = Path.Combine(_dir, "r.json.gz");
        File.WriteAllBytes(path, ReportJson.ToGzip(report));
        Assert.Equal(report.Head.LiveBytes, ReportReader.Read(path).Head.LiveBytes);
    }

    [Fact]
    public void ATruncatedReportIsAnErrorNamingTheFile()
    {
        var bytes = ReportJson.ToUtf8(TestHeap.LinuxReport());
        var path = Path.Combine(_dir, "cut.json");
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        var error = Assert.Throws<ReportFormatException>(() => ReportReader.Read(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void ATruncatedGzipIsAnErrorToo()
    {
        var bytes = ReportJson.ToGzip(TestHeap.LinuxReport());
        var path = Path.Combine(_dir, "cut.json.gz");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<ReportFormatException>(() => ReportReader.Read(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void AnotherProtocolVersionIsRefusedByName()
    {
        var node = AsNode(TestHeap.LinuxReport());
        node["head"]!["protocol_ver"] = 2;
        var path = Save(node.ToJsonString());
        var error = Assert.Throws<ReportFormatException>(() => ReportReader.Read(path));
        Assert.Equal("head.protocol_ver", error.Field);
        Assert.Contains("is 2", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Theory]
    [InlineData("head", "head")]
    [InlineData("head.protocol_ver", "head.protocol_ver")]
    [InlineData("items", "items")]
    [InlineData("items[0].name", "items[0].name")]
    [InlineData("items[0].size", "items[0].size")]
    [InlineData("items[0].stacks[0].frames", "items[0].stacks[0].frames")]
    [InlineData("items[0].stacks[0].frames[0].offset", "items[0].stacks[0].frames[0].offset")]
    [InlineData("head.report_id", "head.report_id")]
    [InlineData("head.live_bytes", "head.live_bytes")]
    [InlineData("modules", "modules")]
    public void AMissingRequiredFieldIsNamed(string remove, string field)
    {
        var node = AsNode(TestHeap.LinuxReport());
        Remove(node, remove);
        var error = Assert.Throws<ReportFormatException>(() => ReportReader.Read(Save(node.ToJsonString())));
        Assert.Equal(field, error.Field);
        Assert.Contains("missing", error.Message);
    }

    [Fact]
    public void AMistypedFieldIsNamed()
    {
        var node = AsNode(TestHeap.LinuxReport());
        node["items"]![1]!["count"] = "many";
        var error = Assert.Throws<ReportFormatException>(() => ReportReader.Read(Save(node.ToJsonString())));
        Assert.Equal("items[1].count", error.Field);
        Assert.Contains("the string \"many\"", error.Message);
    }

    [Fact]
    public void AFoomReportWhoseCategoriesDoNotAddUpIsRefused()
    {
        var node = AsNode(TestHeap.LinuxReport());
        node["items"]!.AsArray().RemoveAt(1);   // a category cut out: a part is not the whole
        var error = Assert.Throws<ReportFormatException>(() => ReportReader.Read(Save(node.ToJsonString())));
        Assert.Equal("head.live_bytes", error.Field);
    }

    [Fact]
    public void AnErrorStaysShortWhateverTheFileHolds()
    {
        var path = Save("x" + new string('a', 100_000));
        var error = Assert.Throws<ReportFormatException>(() => ReportReader.Read(path));
        Assert.True(error.Message.Length < path.Length + 400, error.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("{\"head\":{\"protocol_ver\":1},\"items\":{}}")]
    public void OtherShapesAreRefusedWithoutACrash(string text) =>
        Assert.Throws<ReportFormatException>(() => ReportReader.Read(Save(text)));

    [Fact]
    public void AMissingFileIsNamed()
    {
        var path = Path.Combine(_dir, "nope.json");
        var error = Assert.Throws<ReportFormatException>(() => ReportReader.Read(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void HexStringOffsetsAreRead()
    {
        var node = AsNode(TestHeap.LinuxReport());
        node["items"]![0]!["stacks"]![0]!["frames"]![0]!["offset"] = "0x9a0e0";
        var report = ReportReader.Read(Save(node.ToJsonString()));
        Assert.Equal(0x9a0e0UL, report.Items[0].Stacks[0].Frames[0].Offset);
    }

    private static void Remove(JsonObject root, string path)
    {
        JsonNode node = root;
        var parts = path.Split('.');
        foreach (var part in parts[..^1]) node = Step(node, part);
        var last = parts[^1];
        var bracket = last.IndexOf('[');
        if (bracket >= 0) throw new ArgumentException("the last part must be a name");
        node.AsObject().Remove(last);
    }

    private static JsonNode Step(JsonNode node, string part)
    {
        var bracket = part.IndexOf('[');
        if (bracket < 0) return node[part]!;
        var name = part[..bracket];
        var index = int.Parse(part[(bracket + 1)..^1]);
        return node[name]![index]!;
    }
}
