using Foom.Storage.Sessions;

namespace Foom.Storage.Tests;

public class DataDirectoryTests
{
    [Fact]
    public void ExplicitPathWinsOverEnvironment()
    {
        var dir = DataDirectory.Resolve("/tmp/foom-explicit");
        Assert.Equal("/tmp/foom-explicit", dir.Root);
    }

    [Fact]
    public void SessionsLiveUnderTheApp()
    {
        var dir = new DataDirectory("/data");
        Assert.Equal("/data/chat-app/sessions", dir.SessionsDirectory("chat-app"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("name with space")]
    public void AppIdsThatCouldEscapeTheDataDirectoryAreRefused(string appId)
    {
        var error = Assert.Throws<ArgumentException>(() => new DataDirectory("/data").AppDirectory(appId));
        Assert.Contains("app id", error.Message);
    }
}
