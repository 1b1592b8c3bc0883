using CsCheck;
using Foom.Ios.Jetsam;
using Foom.Report.IO;
using Foom.Server.Ingest;
using Foom.Storage.Sessions;
using static Foom.Server.Tests.Support.Fixtures;

namespace Foom.Server.Tests.Fuzz;

/// <summary>
/// Every parser of outside input, fed <see cref="HostileJson.Cases"/> mutations of real or
/// well-formed documents (CsCheck; a failure prints the seed and the smallest failing case):
/// each answers with a result or its own format error naming what is wrong, never another
/// exception. Counts of both outcomes show the mutations reached past the JSON syntax.
/// </summary>
public sealed class ParserFuzzTests(ITestOutputHelper output)
{
    /// <summary>How many cases parsed, how many were refused, and how many refusals were for the string rule.</summary>
    private sealed class Outcomes
    {
        private int _parsed, _refused, _strings;

        public void Parsed() => Interlocked.Increment(ref _parsed);

        public void Refused(string message)
        {
            Interlocked.Increment(ref _refused);
            if (message.Contains("surrogate", StringComparison.Ordinal) || message.Contains("NUL", StringComparison.Ordinal) || message.Contains("UTF-8", StringComparison.Ordinal))
                Interlocked.Increment(ref _strings);
        }

        /// <summary>Both outcomes were reached, and the string rule among the refusals; the counts go to the test's output.</summary>
        public void AssertBothSeen(ITestOutputHelper output)
        {
            var counts = $"{_parsed + _refused} cases: parsed {_parsed}, refused {_refused} ({_strings} for the string rule), 0 exceptions";
            output.WriteLine(counts);
            Assert.True(_parsed > 0 && _refused > 0 && _strings > 0, counts);
        }
    }

    private static Gen<byte[]> AnyOf(params byte[][] seeds)
    {
        var mutations = seeds.Select(seed => new HostileJson(seed).Documents).ToArray();
        return Gen.Int[0, mutations.Length - 1].SelectMany(i => mutations[i]);
    }

    [Fact]
    public void JetsamEventLogs()
    {
        var seeds = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Jetsam"), "*.ips", SearchOption.AllDirectories)
            .Where(path => !path.Contains("malformed", StringComparison.Ordinal)).Select(File.ReadAllBytes).ToArray();
        Assert.True(seeds.Length >= 5, $"{seeds.Length} JetsamEvent fixtures found");
        var outcomes = new Outcomes();
        AnyOf(seeds).Sample(bytes =>
        {
            var result = JetsamParser.Parse(bytes);
            if (result.Succeeded) outcomes.Parsed();
            else if (result.Error.Message.Length > 0) outcomes.Refused(result.Error.Message);
            else throw new InvalidOperationException("a refusal without a message");
        }, iter: HostileJson.Cases);
        outcomes.AssertBothSeen(output);
    }

    private static byte[] FoomReport() => System.Text.Encoding.UTF8.GetBytes(Json(Linux("fuzz-1", app: "fuzz",
        items: [Item("Malloc 1.00 MiB", 10L << 20, 10, Stack(10L << 20, 10, "decode", "main")), Item("UIView", 1000, 20_000, Stack(1000, 20_000, "layout"))])));

    private static byte[] MatrixReport() => System.Text.Encoding.UTF8.GetBytes(Matrix());

    /// <summary>The CLI's reader (`foom report FILE`): a report, or a ReportFormatException naming the file and field.</summary>
    [Fact]
    public void ReportsAsTheCommandLineReadsThem()
    {
        var outcomes = new Outcomes();
        AnyOf(FoomReport(), MatrixReport()).Sample(bytes =>
        {
            try
            {
                ReportReader.Parse(bytes, "fuzz.json");
                outcomes.Parsed();
            }
            catch (ReportFormatException e) when (e.Message.StartsWith("fuzz.json: ", StringComparison.Ordinal))
            {
                outcomes.Refused(e.Message);
            }
        }, iter: HostileJson.Cases);
        outcomes.AssertBothSeen(output);
    }

    /// <summary>The server's parser of Foom and Matrix uploads: a parsed report, or a 400/413 naming the field.</summary>
    [Fact]
    public void ReportsAsTheServerParsesThem()
    {
        var outcomes = new Outcomes();
        var foom = new HostileJson(FoomReport()).Documents.Select(bytes => (Matrix: false, Bytes: bytes));
        var matrix = new HostileJson(MatrixReport()).Documents.Select(bytes => (Matrix: true, Bytes: bytes));
        Gen.OneOf(foom, matrix).Sample(upload =>
        {
            try
            {
                if (upload.Matrix) ReportParser.ParseMatrix(upload.Bytes, "fuzz", null, null, null);
                else ReportParser.ParseFoom(upload.Bytes);
                outcomes.Parsed();
            }
            catch (UploadRejectedException e) when (e.StatusCode is 400 or 413 && e.Message.Length > 0)
            {
                outcomes.Refused(e.Message);
            }
        }, iter: HostileJson.Cases);
        outcomes.AssertBothSeen(output);
    }

    /// <summary>session.json as `foom sessions`, `foom report` and the next launch read it: the session, or the reason it cannot be read.</summary>
    [Fact]
    public void SessionFiles()
    {
        var directory = Directory.CreateTempSubdirectory("foom-fuzz-session-").FullName;
        try
        {
            SessionInfoFile.Write(directory, new SessionInfo
            {
                SessionId = "s-1", AppId = "chat", AppVersion = "2.1.0", Pid = 4242, RecorderPid = 4241, Command = ["/opt/chat/bin/chat", "--big"],
                StartTime = 1_760_000_000_000, Host = "build-host", DeviceId = "device-7", UserId = "alice", KernelRelease = "6.1.0-18-amd64",
                Limit = new MemoryLimit { Bytes = 256L << 20, Source = "cgroup-v2", Cgroup = "/sys/fs/cgroup/foom-1" },
                Warnings = [new MemoryWarning { Time = 1_760_000_030_000, FootprintBytes = 200L << 20, LimitBytes = 256L << 20, Source = "threshold" }],
                End = new SessionEnd { EndTime = 1_760_000_060_000, ExitStatus = 137, Signal = 9, ExitReason = "foreground_oom", How = "observed", Evidence = ["memory.events oom_kill 0 -> 1"] },
            });
            var seed = File.ReadAllBytes(SessionInfoFile.PathIn(directory));
            var outcomes = new Outcomes();
            // One file, so one case at a time.
            new HostileJson(seed).Documents.Sample(bytes =>
            {
                File.WriteAllBytes(SessionInfoFile.PathIn(directory), bytes);
                var read = SessionInfoFile.Read(directory);
                if (read.Info is not null) outcomes.Parsed();
                else outcomes.Refused(read.Problem ?? throw new InvalidOperationException("neither a session nor a reason"));
            }, iter: HostileJson.Cases, threads: 1);
            outcomes.AssertBothSeen(output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
