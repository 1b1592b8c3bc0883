using System.Text.Json;
using Foom.Report.Model;

namespace Foom.Report.Tests;

/// <summary>Frame strings are read once per distinct value, and read exactly as JSON says.</summary>
public sealed class RepeatedStringTests
{
    [Fact]
    public void RepeatedFrameStringsAreOneObjectAndEveryValueIsReadExactly()
    {
        var longName = new string('x', 300) + "::long";
        const string json = """
            {"head":{},"items":[{"name":"Malloc","stacks":[
              {"caller":"m@1","frames":[{"uuid":"m","offset":1,"function":"ns::f(int)"},{"uuid":"m","offset":2,"function":"caf\u00e9 \"quoted\" \ud83d\ude00"}]},
              {"caller":"m@1","frames":[{"uuid":"m","offset":3,"function":"ns::f(int)"},{"uuid":"m","offset":4,"function":"LONG","file":null}]}
            ]}]}
            """;
        var report = JsonSerializer.Deserialize<Model.Report>(json.Replace("LONG", longName))!;
        var (first, second) = (report.Items[0].Stacks[0], report.Items[0].Stacks[1]);

        Assert.Equal("caf\u00e9 \"quoted\" \U0001F600", first.Frames[1].Function);
        Assert.Equal(longName, second.Frames[1].Function);
        Assert.Null(second.Frames[1].File);
        Assert.Same(first.Frames[0].Function, second.Frames[0].Function);
        Assert.Same(first.Frames[0].Uuid, second.Frames[1].Uuid);
        Assert.Same(first.Caller, second.Caller);
    }

    [Fact]
    public void AFrameStringOfTheWrongTypeIsRefusedNamingWhere()
    {
        var error = Assert.Throws<JsonException>(() =>
            JsonSerializer.Deserialize<Model.Report>("""{"items":[{"stacks":[{"frames":[{"uuid":"m","function":42}]}]}]}"""));
        Assert.Contains("$.items[0].stacks[0].frames[0].function", error.Message);
    }
}
