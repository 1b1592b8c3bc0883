using Foom.Recorder.Launch;
using Foom.Recording.Tests.Support;

using Foom.Testing;

namespace Foom.Recording.Tests.Launch;

/// <summary>A runtime running an app from a file is that app, not the runtime: --keep counts each program's sessions apart.</summary>
public sealed class AppIdentityTests
{
    [Theory]
    [InlineData("/usr/bin/dotnet", "dotnet /srv/Orders/Orders.dll --port 5000", "Orders")]
    [InlineData("/usr/bin/dotnet", "dotnet exec --runtimeconfig x.json bin/Billing.Api.dll", "Billing.Api")]
    [InlineData("/usr/bin/dotnet", "dotnet --info", "dotnet")]
    [InlineData("/usr/bin/python3.13", "python3 -u tools/reindex.py --all", "reindex")]
    [InlineData("/usr/bin/python3", "python3 -X dev -m http.server 8000", "http.server")]
    [InlineData("/usr/bin/python3", "python3 -c print(1)", "python3")]
    [InlineData("/usr/bin/java", "java -Xmx1g -jar /opt/shop/shop-2.1.jar", "shop-2.1")]
    [InlineData("/usr/bin/java", "java -cp lib/a.jar com.example.Main", "com.example.Main")]
    [InlineData("/usr/bin/node", "node --max-old-space-size=512 server/app.js", "app")]
    [InlineData("/usr/local/bin/chat-cache", "chat-cache --fast", "chat-cache")]
    public void TheAppIsTheFileTheRuntimeRuns(string executable, string command, string app) =>
        Assert.Equal(app, AppIdentity.Name(executable, command.Split(' ')));

    [Fact]
    public async Task TwoDotnetProgramsRunWithoutAppAreTwoAppsWithTheirOwnSessions()
    {
        using var foom = new FoomCli();
        // Each exits at once with status 2 on an unknown argument: enough to make a session.
        var leaks = await foom.RunAsync("run", "--", "dotnet", LeakProgram.Dll, "no-such-shape");
        var hoarder = await foom.RunAsync("run", "--", "dotnet", Hoarder.Dll, "--no-such-option");
        Assert.True(leaks.ExitCode == 2, leaks.Describe());
        Assert.True(hoarder.ExitCode == 2, hoarder.Describe());
        Assert.Single(foom.Sessions("ManagedLeaks"));
        Assert.Single(foom.Sessions("ViewModelHoarder"));
        Assert.Empty(foom.Sessions("dotnet"));
    }
}
