using System.Diagnostics;
using System.Text.Json;
using Foom.Report.IO;
using Foom.Report.Tests.Support;
using Foom.Testing;

namespace Foom.Report.Tests;

/// <summary>`foom report`, `foom diff` and `foom upload` run as the real program, with their exit statuses and outputs.</summary>
public class CliTests : IDisposable
{
    private readonly FoomCli _foom = new();
    private string Data => _foom.DataDirectory;

    public void Dispose() => _foom.Dispose();

    private CliResult Foom(params string[] args) => _foom.Run(args);

    private string SessionOf(string app, string id, long startTime, ulong blockSize)
    {
        var directory = Path.Combine(Data, app, "sessions", id);
        var info = TestSessions.Info(id, app);
        info.StartTime = startTime;
        TestSessions.Write(directory, info, w => w.Malloc(w.Stack(0x100, 0x200), blockSize, 10));
        return directory;
    }

    /// <summary>Issue 16, finding 4: `foom report` of a report with a lone surrogate escape in a module died with a stack trace.</summary>
    [Fact]
    public void AReportWithABrokenStringIsAnErrorNamingTheFileAndFieldNotACrash()
    {
        var json = System.Text.Encoding.UTF8.GetString(ReportJson.ToUtf8(TestHeap.LinuxReport()));
        var uuid = TestHeap.LinuxReport().Modules[0].Uuid;
        var path = Path.Combine(Data, "broken.json");
        File.WriteAllText(path, json.Replace($"\"uuid\":\"{uuid}\"", "\"uuid\":\"\\ud800\"", StringComparison.Ordinal));
        var run = Foom("report", path);
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains($"{path}: modules[0].uuid: holds a lone UTF-16 surrogate (\\ud800)", run.Errors);
        Assert.DoesNotContain("Exception", run.Errors);
        Assert.DoesNotContain("   at ", run.Errors);
    }

    [Fact]
    public void WithoutAnArgumentTheNewestSessionIsReported()
    {
        SessionOf("chat", "older", 1_760_000_000_000, 48);
        SessionOf("chat", "newer", 1_760_000_500_000, 4096);
        SessionOf("mail", "other-app", 1_760_000_900_000, 100);

        var json = Foom("report", "--app", "chat", "--format", "json");
        Assert.Equal(0, json.ExitCode);
        var report = ReportReader.Parse(System.Text.Encoding.UTF8.GetBytes(json.Output), "stdout");
        Assert.Equal("newer", report.Head.ReportId);
        Assert.Equal("Malloc 4.00 KiB", report.Items.Single().Name);

        var newestOfAll = Foom("report", "--format", "collapsed");
        Assert.Equal(0, newestOfAll.ExitCode);
        Assert.EndsWith("[Malloc 112 Bytes] 1000", newestOfAll.Output.Trim());

        var text = Foom("report", Path.Combine(Data, "chat", "sessions", "older"));
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("Killed for memory (foreground OOM)", text.Output);
        Assert.Contains("Malloc 48 Bytes", text.Output);

        var speedscope = Foom("report", Path.Combine(Data, "chat", "sessions", "older"), "--format", "speedscope");
        using var document = JsonDocument.Parse(speedscope.Output);
        Assert.Equal(480, document.RootElement.GetProperty("profiles")[0].GetProperty("weights").EnumerateArray().Sum(w => w.GetInt64()));
    }

    [Fact]
    public void ASessionsSavedReportIsShownUnlessARebuildIsAsked()
    {
        var session = SessionOf("chat", "died", 1_760_000_000_000, 48);
        // The report saved at the death named the frames with the binaries of that moment.
        var atDeath = global::Foom.Report.Building.ReportBuilder.Build(session, global::Foom.Report.Building.SessionMarks.None);
        atDeath.Items[0].Stacks[0].CallerFunction = "grow_cache_v1";
        var saved = Path.Combine(session, SessionDirectories.ReportFileName);
        ReportWriter.Save(atDeath, saved);

        var shown = Foom("report", session, "--format", "json");
        Assert.Equal(0, shown.ExitCode);
        Assert.Equal("grow_cache_v1", ReportReader.Parse(System.Text.Encoding.UTF8.GetBytes(shown.Output), "stdout").Items[0].Stacks[0].CallerFunction);
        Assert.Contains($"showing {saved}, the report saved when the run ended", shown.Errors);
        Assert.Contains("--rebuild", shown.Errors);

        // The newest session by default, the same way.
        var newest = Foom("report", "--app", "chat", "--format", "collapsed");
        Assert.Equal(0, newest.ExitCode);
        Assert.Contains($"showing {saved}", newest.Errors);

        var rebuilt = Foom("report", session, "--format", "json", "--rebuild");
        Assert.Equal(0, rebuilt.ExitCode);
        Assert.Equal("", rebuilt.Errors);
        var fresh = ReportReader.Parse(System.Text.Encoding.UTF8.GetBytes(rebuilt.Output), "stdout");
        Assert.NotEqual("grow_cache_v1", fresh.Items[0].Stacks[0].CallerFunction);
        Assert.Equal(atDeath.Head.LiveBytes, fresh.Head.LiveBytes);

        // A damaged saved report is an error naming it, and --rebuild still shows the session.
        File.WriteAllText(saved, "{\"head\": {");
        var damaged = Foom("report", session);
        Assert.Equal(1, damaged.ExitCode);
        Assert.Equal("", damaged.Output);
        Assert.Contains(saved, damaged.Errors);
        Assert.Contains("--rebuild", damaged.Errors);
        Assert.Equal(0, Foom("report", session, "--rebuild").ExitCode);
    }

    [Fact]
    public void BadInputPrintsNothingButAnErrorNamingTheFile()
    {
        var path = Path.Combine(Data, "cut.json");
        var whole = ReportJson.ToUtf8(TestHeap.LinuxReport());
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
        var cut = Foom("report", path);
        Assert.Equal(1, cut.ExitCode);
        Assert.Equal("", cut.Output);
        Assert.Contains(path, cut.Errors);
        Assert.Contains("truncated", cut.Errors);

        var session = SessionOf("chat", "damaged", 1, 64);
        using (var file = new FileStream(Path.Combine(session, "live.foom"), FileMode.Open)) file.SetLength(100);
        var damaged = Foom("report", session, "--format", "json");
        Assert.Equal(1, damaged.ExitCode);
        Assert.Equal("", damaged.Output);
        Assert.Contains("live.foom", damaged.Errors);

        var none = Foom("report", "--app", "nothing-here");
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("no sessions here yet", none.Errors);

        var badApp = Foom("report", "--app", "../etc");
        Assert.Equal(2, badApp.ExitCode);
        Assert.Contains("app id", badApp.Errors);
    }

    [Fact]
    public void DiffComparesTwoSessions()
    {
        var before = SessionOf("chat", "a", 1, 64);
        var after = Path.Combine(Data, "chat", "sessions", "b");
        TestSessions.Write(after, TestSessions.Info("b"), w =>
        {
            w.Malloc(w.Stack(0x100, 0x200), 64, 30);
            w.Malloc(w.Stack(0x300), 2 << 20, 1);
        });

        var grown = Foom("diff", before, after, "--format", "collapsed", "--grown-only");
        Assert.Equal(0, grown.ExitCode);
        var lines = grown.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20 * 64 + (2 << 20), lines.Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..])));

        var both = Foom("diff", before, after, "--grown-only", "--shrunk-only", "--format", "collapsed");
        Assert.Equal(2, both.ExitCode);
        var text = Foom("diff", before, after);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains("+2.00 MiB", text.Output);
    }

    [Fact]
    public void PprofGoesToAFileAndGoToolPprofReadsIt()
    {
        var before = SessionOf("chat", "a", 1, 64);
        var after = SessionOf("chat", "b", 2, 4096);
        var profile = Path.Combine(Data, "b.pb.gz");
        var report = FoomToFile(profile, "report", after, "--format", "pprof");
        Assert.Equal(0, report.ExitCode);
        Assert.Equal(10 * 4096, GoPprof.Read(File.ReadAllBytes(profile)).Total("inuse_space/bytes"));

        var diff = FoomToFile(profile, "diff", before, after, "--format", "pprof");
        Assert.Equal(0, diff.ExitCode);
        Assert.Equal(10 * 4096 - 10 * 64, GoPprof.Read(File.ReadAllBytes(profile)).Total("inuse_space/bytes"));
    }

    /// <summary>foom with its standard output sent to a file, as a user's shell redirects it.</summary>
    private CliResult FoomToFile(string file, params string[] args)
    {
        using (File.Create(file)) { }
        var start = new ProcessStartInfo("bash") { RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("out=$1; shift; exec dotnet \"$@\" > \"$out\"");
        start.ArgumentList.Add("foom");
        start.ArgumentList.Add(file);
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "foom.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["FOOM_DATA"] = Data;
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"foom {string.Join(' ', args)} did not finish in 120 s");
        }
        return new CliResult(process.ExitCode, "", error.Result);
    }

    [Fact]
    public void UploadNeedsAServerAndAKey()
    {
        var report = Path.Combine(Data, "r.json");
        ReportWriter.Save(TestHeap.LinuxReport(), report);
        var noServer = Foom("upload", report);
        Assert.Equal(2, noServer.ExitCode);
        Assert.Contains("--server", noServer.Errors);
        var noKey = Foom("upload", report, "--server", "http://127.0.0.1:9");
        Assert.Equal(2, noKey.ExitCode);
        Assert.Contains("--ingest-key", noKey.Errors);

        // A server that is not there: the report stays queued, and the command says so.
        var down = Foom("upload", report, "--server", $"http://127.0.0.1:{LoopbackPort.Free()}", "--ingest-key", "k");
        Assert.Equal(1, down.ExitCode);
        Assert.Contains("1 still queued", down.Output);
        Assert.Single(Directory.EnumerateFiles(Path.Combine(Data, "upload-queue"), "*.upload"));
    }
}
