using Foom.Recording.Tests.Support;
using Foom.Report.IO;
using Foom.Storage.Managed;

using Foom.Testing;
using Foom.Interop;

namespace Foom.Recording.Tests.Run;

/// <summary>An OutOfMemoryException the program catches and survives is a memory event: a warning with its stack, and a snapshot report.</summary>
public sealed class RunSurvivedOutOfMemoryTests
{
    [Fact]
    public async Task ACaughtOutOfMemoryExceptionIsAWarningWithItsStackAndMakesASnapshot()
    {
        using var foom = new FoomCli();
        // The list shape with --catch: it fills the GC heap up to its hard limit, catches the
        // OutOfMemoryException, drops everything and starts again, until told to stop.
        using var run = foom.Start("run", "--app", "caught", "--limit", "200M", "--", "dotnet", LeakProgram.Dll, "list", "--catch");
        var errors = run.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var caught = false;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
        {
            while (!caught && await run.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                caught = line.StartsWith("caught System.OutOfMemoryException", StringComparison.Ordinal);
        }
        Assert.True(caught, "the program never said it caught an OutOfMemoryException: " + (run.HasExited ? await errors : "(still running)"));
        _ = run.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);

        var session = Assert.Single(foom.Sessions("caught"));
        var deadline = DateTime.UtcNow.AddMinutes(2);
        string? snapshot = null;
        while (DateTime.UtcNow < deadline && (snapshot = Directory.GetFiles(session, "snapshot-*.json").FirstOrDefault()) is null)
            await Task.Delay(200, TestContext.Current.CancellationToken);
        // The throwing method and its caller, in order; when the exception was taken in the runtime's
        // own dispatch, its System.Runtime.EH frames come first (seen in a CI run).
        const string Named = "ManagedLeaks.OrderBook.AddOrder(int64) ← ManagedLeaks.OrderBook.Grow(int64)";
        while (DateTime.UtcNow < deadline && !foom.Info(session).Warnings.Any(w => w.Detail?.Contains(Named, StringComparison.Ordinal) == true))
            await Task.Delay(200, TestContext.Current.CancellationToken);
        Processes.kill(run.Id, 15);   // foom run passes it on to the program
        await run.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        Assert.True(snapshot is not null, "no snapshot report in the session after the OutOfMemoryException: " + await errors);

        var warnings = foom.Info(session).Warnings.Where(w => w.Source == "dotnet_out_of_memory").ToList();
        Assert.NotEmpty(warnings);
        Assert.All(warnings, w => Assert.StartsWith("System.OutOfMemoryException", w.Detail));
        // The first exception may come before the runtime's method events have named its frames
        // (then it names none); the program throws again each time it refills, named by then.
        Assert.Contains(warnings, w => w.Detail!.Contains(Named, StringComparison.Ordinal));
        var status = ManagedFiles.ReadStatus(session)!;
        Assert.True(status.OutOfMemoryExceptionsTotal >= 1);
        Assert.Contains(status.OutOfMemoryExceptions!, e => e.Frames.Any(f => f.StartsWith("ManagedLeaks.OrderBook.AddOrder", StringComparison.Ordinal)));
        // The snapshot is a live report whose warnings include the exception.
        var report = ReportReader.Read(snapshot!);
        Assert.True(report.Head.LiveSnapshot);
        Assert.Contains(report.Head.Warnings!, w => w.Source == "dotnet_out_of_memory" && w.Detail == warnings[0].Detail);
        // It survived: the run ended by the user's SIGTERM, not by memory.
        Assert.Equal("user_quit", foom.Info(session).End!.ExitReason);
    }
}
