using System.Globalization;
using System.Text;
using Foom.Report.IO;
using Foom.Storage.Sessions;
using Foom.Testing;

namespace Foom.Recording.Tests.Run;

/// <summary>
/// `foom run` of programs that start others (docs/architecture.md, "The process tree"): every
/// process of the run recorded into a session of its own, the kernel's OOM kill of any of them
/// judged by the victim rule (docs/exit-reasons.md), and the report of that death the victim's own,
/// with the process tree. Real kernel kills in the memory cgroup the run makes; real sh, make, g++.
/// </summary>
public sealed class RunProcessTreeTests : IDisposable
{
    private readonly FoomCli _foom = new();
    private readonly TempDirectory _work = new();

    private string Hoard => CProgram.Build("hoard.c", CProgram.WithFramePointers);

    /// <summary>The run's one session, after checking it ran in a memory cgroup of its own (the kernel kills need one).</summary>
    private (string Directory, SessionInfo Info) Session(string app, CliResult result)
    {
        var directory = Assert.Single(_foom.Sessions(app));
        var info = _foom.Info(directory);
        Assert.True(info.Limit?.Source is "cgroup-v1" or "cgroup-v2",
            $"the run needs a memory cgroup (root and the memory controller), but its limit came from {info.Limit?.Source}:\n{result.Describe()}");
        return (directory, info);
    }

    /// <summary>The victim's checks, the same for every case: the verdict names it, its session holds its memory, the run's report is its own.</summary>
    private Report.Model.Report AssertVictimReport(string directory, SessionInfo info, string task, string caller, CliResult result)
    {
        var end = info.End!;
        Assert.True(end.ExitReason == "foreground_oom", $"{end.ExitReason}: {string.Join("; ", end.Evidence)}\n{result.Describe()}");
        Assert.Equal(task, end.VictimTask);
        Assert.NotEqual(info.Pid, end.VictimPid);
        Assert.Contains(end.Evidence, line => line.Contains($"the OOM killer killed pid {end.VictimPid} ({task}), a process of the run's group"));
        Assert.NotNull(end.VictimSession);
        var victim = _foom.Info(Path.Combine(directory, end.VictimSession!));
        Assert.Equal((end.VictimPid, info.SessionId), (victim.Pid, victim.ParentSessionId));
        Assert.Equal("foreground_oom", victim.End!.ExitReason);

        var report = ReportReader.Read(Path.Combine(directory, SessionDirectories.ReportFileName));
        Assert.Equal(victim.SessionId, report.Head.SessionId);
        Assert.Equal("foreground_oom", report.Head.ExitReason);
        var top = report.Callers!.BottomUp[0];
        Assert.True((top.Function ?? top.Caller).Contains(caller, StringComparison.Ordinal),
            $"the top caller is {top.Caller}, not {caller}: {string.Join(", ", report.Callers.BottomUp.Take(5).Select(c => c.Caller))}");
        var tree = report.ProcessTree!;
        Assert.True(tree.Victim);
        Assert.Equal(end.VictimPid, tree.Pid);
        Assert.Equal(info.Pid, tree.Processes[0].Pid);
        Assert.Equal(info.Pid, tree.Parents[^1]);
        var share = tree.Processes.Single(p => p.Pid == tree.Pid);
        Assert.True(share.RssBytes > 0 && share.LiveBytes > 0, $"the victim's share: rss {share.RssBytes}, live {share.LiveBytes}");
        return report;
    }

    [Fact]
    public async Task TheKilledStageOfAPipelineIsTheRunsVictimAndItsReport()
    {
        var result = await _foom.RunAsync("run", "--limit", "64M", "--app", "pipeline", "--", "sh", "-c", $"{Hoard} 400 | cat");
        var (directory, info) = Session("pipeline", result);
        var report = AssertVictimReport(directory, info, TaskName(Hoard), "cache_image", result);
        // sh, the hoarder and cat, each with its own session; the hoarder's parent is sh.
        var tree = report.ProcessTree!;
        Assert.Equal([info.Pid], tree.Parents);
        Assert.Contains(tree.Processes, p => p.Command.FirstOrDefault() == "cat" && p.Session is not null && p.ParentPid == info.Pid);
        Assert.Equal(3, tree.Processes.Count);

        // Listed by `foom sessions` under the run, and drawn by `foom report`'s text view.
        var listed = System.Text.Json.Nodes.JsonNode.Parse((await _foom.RunAsync("sessions", "--app", "pipeline", "--format", "json")).Output)!.AsArray().Single()!;
        Assert.Equal(Path.Combine(directory, info.End!.VictimSession!), (string?)listed["victim_session"]);
        Assert.Contains(listed["processes"]!.AsArray(), process => (string?)process!["command"]![0] == "cat" && process["directory"] is not null);
        var text = await _foom.RunAsync("report", "--app", "pipeline");
        Assert.Contains("processes of the run", text.Output);
        Assert.Contains("killed by the OOM killer: this report", text.Output);
    }

    [Fact]
    public async Task AShellThatExecsTheHoarderIsOneProcessWhoseOwnDeathIsReported()
    {
        var result = await _foom.RunAsync("run", "--limit", "64M", "--app", "exec", "--", "sh", "-c", $"exec {Hoard} 400");
        var (directory, info) = Session("exec", result);
        Assert.Equal(("foreground_oom", 9), (info.End!.ExitReason, info.End.Signal));
        Assert.Null(info.End.VictimPid);
        Assert.Null(info.Processes);
        var report = ReportReader.Read(Path.Combine(directory, SessionDirectories.ReportFileName));
        Assert.Equal("cache_image", report.Callers!.BottomUp[0].Function);
        Assert.Null(report.ProcessTree);
    }

    [Fact]
    public async Task MakeRunningTwoJobsNamesTheKilledJob()
    {
        var makefile = Path.Combine(_work.Path, "Makefile");
        File.WriteAllText(makefile, $"all: big small\nbig:\n\t{Hoard} 400\nsmall:\n\t{Hoard} 4 64 1\n");
        var result = await _foom.RunAsync("run", "--limit", "64M", "--app", "make", "--", "make", "-j2", "-f", makefile);
        Assert.NotEqual(0, result.ExitCode);
        var (directory, info) = Session("make", result);
        var report = AssertVictimReport(directory, info, TaskName(Hoard), "cache_image", result);
        var victim = report.ProcessTree!.Processes.Single(p => p.Pid == info.End!.VictimPid);
        Assert.Equal([Hoard, "400"], victim.Command);
        Assert.Contains(report.ProcessTree.Processes, p => p.Command.SequenceEqual([Hoard, "4", "64", "1"]) && p.ExitReason == "exit");
    }

    [Fact]
    public async Task TheCompilerProperKilledUnderGppIsReportedWithItsAllocatingFunction()
    {
        var source = Path.Combine(_work.Path, "big.cpp");
        File.WriteAllText(source, GeneratedCpp(3000));
        var result = await _foom.RunAsync("run", "--limit", "128M", "--app", "gpp", "--", "g++", "-O1", "-c", source, "-o", Path.Combine(_work.Path, "big.o"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Killed signal terminated program cc1plus", result.Errors);
        var (directory, info) = Session("gpp", result);
        var report = AssertVictimReport(directory, info, "cc1plus", "ggc_internal_alloc", result);
        Assert.Equal("g++", Path.GetFileName(report.ProcessTree!.Processes[0].Command[0]));
        Assert.Contains("the OOM killer's victim pid", result.Output + result.Errors);
    }

    [Fact]
    public async Task AServerStartedByAShellEntrypointIsTheVictimWhenTheKernelKillsIt()
    {
        var entrypoint = Path.Combine(_work.Path, "entrypoint.sh");
        File.WriteAllText(entrypoint, $"#!/bin/sh\necho entrypoint: starting the server\n{Hoard} 400 256 30 &\nwait $!\nstatus=$?\necho entrypoint: the server ended with $status\nexit $status\n");
        File.SetUnixFileMode(entrypoint, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var result = await _foom.RunAsync("run", "--limit", "64M", "--app", "entrypoint", "--", entrypoint);
        Assert.Equal(137, result.ExitCode);
        Assert.Contains("the server ended with 137", result.Output);
        var (directory, info) = Session("entrypoint", result);
        AssertVictimReport(directory, info, TaskName(Hoard), "cache_image", result);
    }

    [Fact]
    public async Task FiftyShortLivedChildrenAreEachRecordedAndLeaveNoRingFileOrProcessBehind()
    {
        var result = await _foom.RunAsync("run", "--app", "fifty", "--", "sh", "-c",
            "i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i+1)); done");
        Assert.True(result.ExitCode == 0, result.Describe());
        var directory = Assert.Single(_foom.Sessions("fifty"));
        var info = _foom.Info(directory);
        var processes = info.Processes ?? [];
        var recorded = processes.Count(p => p.Session is not null && p.NotRecorded is null);
        // Each child either has its session, or (a machine too busy to make spares in time) is counted by the hook.
        Assert.True(recorded + (info.ProcessesWithoutRing ?? 0) == 50,
            $"{recorded} recorded and {info.ProcessesWithoutRing ?? 0} without a ring, of 50:\n{string.Join("\n", processes.Select(p => $"{p.Pid} {string.Join(' ', p.Command)} {p.NotRecorded}"))}");
        Assert.All(processes.Where(p => p.Session is not null), p =>
        {
            var child = _foom.Info(Path.Combine(directory, p.Session!));
            Assert.Equal(("exit", 0), (child.End!.ExitReason, child.End.ExitStatus));
            Assert.Equal(info.Pid, child.ParentPid);
        });
        Assert.Empty(Directory.EnumerateFiles(directory, "*.ring", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(Path.Combine(directory, "rings")), "the pool's folder was left behind");
        Assert.Equal(recorded, Directory.GetDirectories(Path.Combine(directory, "processes")).Length);
        Assert.Empty(ProcessesWithRingOf(directory));
    }

    [Fact]
    public async Task AChildThatClearsTheEnvironmentAndAStaticChildAreNamedAsNotRecordedWhileTheRestIs()
    {
        var staticHoard = CProgram.Build("hoard.c", "-O1 -g -static", outputSuffix: "static");
        var result = await _foom.RunAsync("run", "--app", "unhooked", "--", "sh", "-c",
            $"{staticHoard} 4 64 1; env -i {Hoard} 4 64 1; {Hoard} 4 64; echo done");
        Assert.True(result.ExitCode == 0, result.Describe());
        var info = _foom.OnlySession("unhooked");
        var processes = info.Processes!;
        Assert.Contains(processes, p => p.Session is null && p.NotRecorded!.StartsWith("statically linked", StringComparison.Ordinal)
                                        && p.Command.FirstOrDefault() == staticHoard);
        Assert.Contains(processes, p => p.Session is not null && p.NotRecorded?.Contains("has no FOOM_RING", StringComparison.Ordinal) == true);
        Assert.Contains(processes, p => p.Session is not null && p.NotRecorded is null && p.Command.SequenceEqual([Hoard, "4", "64"]) && p.LiveBytes >= 4L << 20);
        Assert.Contains(info.RecordingNotes!, note => note.Contains("statically linked"));
    }

    /// <summary>Processes still running with the session's ring in their environment (there should be none after the run).</summary>
    private static List<int> ProcessesWithRingOf(string directory)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                if (Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(entry, "environ"))).Contains(directory, StringComparison.Ordinal)) found.Add(pid);
            }
            catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }
        return found;
    }

    /// <summary>The kernel's name of a process (comm): its file name, cut to 15 bytes.</summary>
    private static string TaskName(string path) => Path.GetFileName(path)[..Math.Min(15, Path.GetFileName(path).Length)];

    /// <summary>A C++ file that makes cc1plus hold some 500 MB at -O1 (3000 class templates over std::map and std::vector).</summary>
    private static string GeneratedCpp(int templates)
    {
        var text = new StringBuilder("#include <map>\n#include <string>\n#include <vector>\n");
        for (var i = 0; i < templates; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"template<int N> struct S{i} {{ std::map<std::string, std::vector<int>> m; int g(int x) {{ return x * N + {i}; }} }};\n");
            text.Append(CultureInfo.InvariantCulture, $"int use{i}(int x) {{ S{i}<{i}> s; s.m[\"a\"].push_back(x); return s.g(x); }}\n");
        }
        return text.ToString();
    }

    public void Dispose()
    {
        _foom.Dispose();
        _work.Dispose();
    }
}
