using Foom.Ios.Jetsam;
using Foom.Ios.Tests.Support;
using Foom.Testing;

namespace Foom.Ios.Tests.Jetsam;

/// <summary>
/// Issue 16, finding 4: a lone UTF-16 surrogate escape in a JetsamEvent log made the parser throw
/// InvalidOperationException (an unhandled crash of `foom jetsam`). Strings that break the string
/// rule (docs/report-format.md, "Strings") are an error naming the field; a valid pair is read.
/// </summary>
public sealed class JetsamStringTests
{
    private static string Log(string product = "iPhone12,1", string name = "chat") =>
        $$"""
        {"bug_type":"298","timestamp":"2025-05-28 01:35:47.00 -0500","os_version":"iPhone OS 18.5","incident_id":"B1"}
        {"bug_type":"298","product":"{{product}}","memoryStatus":{"pageSize":16384},
         "processes":[{"name":"{{name}}","rpages":1000,"reason":"per-process-limit","states":["frontmost"]}]}
        """;

    [Theory]
    [InlineData(@"\ud800", "iPhone12,1", "product", "lone UTF-16 surrogate")]
    [InlineData(@"iPhone\udc00", "chat", "product", "lone UTF-16 surrogate")]
    [InlineData("iPhone12,1", @"chat\u0000", "processes[0].name", "NUL")]
    [InlineData("iPhone12,1", @"\ud83d\ud83d", "processes[0].name", "lone UTF-16 surrogate")]
    public void ABrokenStringIsAnErrorNamingTheField(string product, string name, string field, string problem)
    {
        var result = JetsamParser.Parse(Log(product, name));
        Assert.False(result.Succeeded);
        Assert.Equal(field, result.Error.Field);
        Assert.StartsWith(field + ": ", result.Error.Message);
        Assert.Contains(problem, result.Error.Message);
    }

    [Fact]
    public void AnEscapedSurrogatePairIsReadAsTheCharacter()
    {
        var result = JetsamParser.Parse(Log(product: @"iPhone \ud83d\udca5"));
        Assert.True(result.Succeeded, result.Succeeded ? "" : result.Error.Message);
        Assert.Equal("iPhone 💥", result.Event.Product);
    }

    [Fact]
    public void TheCommandNamesTheFileAndTheFieldWithoutAStackTrace()
    {
        var file = Path.Combine(Path.GetTempPath(), $"foom-lone-surrogate-{Guid.NewGuid():N}.ips");
        File.WriteAllText(file, Log(product: @"\ud800"));
        try
        {
            using var foom = new FoomCli();
            var run = foom.Run("jetsam", file);
            Assert.Equal(1, run.ExitCode);
            Assert.Contains($"{file}: product: holds a lone UTF-16 surrogate (\\ud800)", run.Errors);
            Assert.DoesNotContain("Exception", run.Errors);
            Assert.DoesNotContain("   at ", run.Errors);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
