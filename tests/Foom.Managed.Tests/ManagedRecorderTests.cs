using System.Diagnostics;
using System.Text.Json;
using Foom.Managed;
using Foom.Testing;
using Foom.Storage.Managed;
using Foom.Storage.Sessions;
using Microsoft.Diagnostics.NETCore.Client;

namespace Foom.Managed.Tests;

/// <summary>One ViewModelHoarder holding 30 MB of view models, shared by the facts below.</summary>
public sealed class HeldHoarder : IAsyncLifetime
{
    public Hoarder Program { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Program = await Hoarder.HoldingAsync(30);

    public ValueTask DisposeAsync()
    {
        Program.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The managed recorder and the census, driven directly against a real .NET program.</summary>
public sealed class ManagedRecorderTests(HeldHoarder held) : IClassFixture<HeldHoarder>, IDisposable
{
    private readonly string _session = Directory.CreateTempSubdirectory("foom-managed-").FullName;

    [Fact]
    public void ACensusCountsEveryHeldViewModelExactly()
    {
        var client = new DiagnosticsClient(held.Program.Pid);
        var census = HeapCensus.Take(client, new CensusRequest("test", 0, null, 64L << 20), DotnetProcess.Look(held.Program.Pid)?.RuntimeVersion, TimeSpan.FromMinutes(1));
        Assert.Equal(0, census.LostEvents);
        var viewModels = Assert.Single(census.Types, t => t.Name == "ViewModelHoarder.ChatMessageViewModel");
        Assert.Equal(held.Program.HeldViewModels, viewModels.Count);
        Assert.Equal(census.Types.Sum(t => t.Bytes), census.Bytes);
        Assert.True(census.PauseMilliseconds > 0 && census.TransferredBytes > 0, JsonSerializer.Serialize(census));
    }

    [Fact]
    public void ACensusWhoseBufferIsTooSmallSaysItLostEventsInsteadOfPassingForWhole()
    {
        var client = new DiagnosticsClient(held.Program.Pid);
        // 1 MiB holds far fewer node events than the ~600,000 objects of 30 MB of messages.
        var census = HeapCensus.Take(client, new CensusRequest("test", 0, null, 1L << 20), DotnetProcess.Look(held.Program.Pid)?.RuntimeVersion, TimeSpan.FromMinutes(1));
        Assert.True(census.LostEvents > 0, JsonSerializer.Serialize(census));
        Assert.Equal(1L << 20, census.BufferBytes);
        var counted = census.Types.SingleOrDefault(t => t.Name == "ViewModelHoarder.ChatMessageViewModel")?.Count ?? 0;
        Assert.True(counted < held.Program.HeldViewModels, $"{counted} of {held.Program.HeldViewModels}");
    }

    [Fact]
    public async Task OnRuntimesWithoutAllocationSamplingAllocationTicksGiveTheStacksAndAWarningTakesACensus()
    {
        using var growing = await Hoarder.GrowingAsync(5);
        var recorder = ManagedRecorder.Start(growing.Pid, _session, limitBytes: null, TextWriter.Null,
            new ManagedRecorderOptions { ForceAllocationTick = true, AllocationsEvery = TimeSpan.FromMilliseconds(200) });
        await using (recorder)
        {
            // No limit: only a warning makes a census due.
            await WaitFor(() => ManagedFiles.ReadStatus(_session)?.Diagnostics == "connected", "the recorder to connect");
            await WaitFor(() => ManagedFiles.ReadAllocations(_session)?.Samples > 20, "allocation ticks");
            Assert.False(File.Exists(Path.Combine(_session, ManagedFiles.CensusFileName)));
            recorder.Warning("test");
            await WaitFor(() => File.Exists(Path.Combine(_session, ManagedFiles.CensusFileName)), "the census");
        }
        var census = ManagedFiles.ReadCensus(_session)!;
        Assert.Equal("warning:test", census.Trigger);
        Assert.True(census.Types.Single(t => t.Name == "ViewModelHoarder.ChatMessageViewModel").Count >= growing.HeldViewModels);
        var status = ManagedFiles.ReadStatus(_session)!;
        Assert.Equal("allocation_tick", status.AllocationSampling);
        Assert.Equal(1, status.CensusesTaken);
        Assert.Null(status.CensusStarted);
        var allocations = ManagedFiles.ReadAllocations(_session);
        Assert.NotNull(allocations);
        Assert.Equal("allocation_tick", allocations.Method);
        var viewModels = allocations.Stacks.Where(s => s.Type == "ViewModelHoarder.ChatMessageViewModel").ToList();
        Assert.NotEmpty(viewModels);
        Assert.Contains(viewModels, s => s.Frames.Any(f => allocations.Frames[f].Function?.StartsWith("ViewModelHoarder.ChatScreen.LoadMessages(", StringComparison.Ordinal) == true));
        // A tick charges the ~100 KiB allocated since the last one: the estimates are in that unit.
        Assert.True(viewModels.Sum(s => s.Bytes) >= viewModels.Sum(s => s.Samples) * 50_000);
    }

    [Fact]
    public void WithoutAPortTheReasonNamesTheSettingOrTheRuntime()
    {
        // This test process runs without DOTNET_EnableDiagnostics=0: the reason comes from the version.
        var old = DotnetProcess.WhyNoPort(Environment.ProcessId, new Version(2, 1, 30), TimeSpan.FromSeconds(3));
        Assert.Contains("2.1.30 is older than .NET Core 3.1", old);
        var unknown = DotnetProcess.WhyNoPort(Environment.ProcessId, null, TimeSpan.FromSeconds(3));
        Assert.Contains("opened no diagnostics port within 3 s", unknown);
        Assert.Null(DotnetProcess.PortTurnedOff(Environment.ProcessId));

        // A program whose environment turns the port off is told at once, whatever its runtime.
        using (var portOff = Sleeper.Start("DOTNET_EnableDiagnostics_IPC", "0"))
        {
            Assert.Contains("DOTNET_EnableDiagnostics_IPC=0", DotnetProcess.PortTurnedOff(portOff.Pid));
            Assert.Contains("DOTNET_EnableDiagnostics_IPC=0", DotnetProcess.WhyNoPort(portOff.Pid, new Version(2, 1, 30), TimeSpan.FromSeconds(3)));
        }

        // A killed runtime leaves its socket behind: only the one named by this process's start time is its own.
        var folder = Directory.CreateTempSubdirectory("foom-sockets-");
        try
        {
            using var sleeper = Sleeper.Start("TMPDIR", folder.FullName);
            File.WriteAllText(Path.Combine(folder.FullName, $"dotnet-diagnostic-{sleeper.Pid}-1-socket"), "");
            Assert.Null(DotnetProcess.DiagnosticSocket(sleeper.Pid));
            var own = Path.Combine(folder.FullName, $"dotnet-diagnostic-{sleeper.Pid}-{ProcessStat.Read(sleeper.Pid)!.Value.StartTicks}-socket");
            File.WriteAllText(own, "");
            Assert.Equal(own, DotnetProcess.DiagnosticSocket(sleeper.Pid));
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        // The runtime's own version, from the folder of the libcoreclr.so it mapped.
        var sighting = DotnetProcess.Look(Environment.ProcessId);
        Assert.NotNull(sighting);
        Assert.Equal(Environment.Version.Major, sighting.RuntimeVersion?.Major);
        Assert.NotNull(sighting.DiagnosticSocket);
        Assert.Null(DotnetProcess.VersionFromPath("/opt/app/libcoreclr.so"));
        Assert.Equal(new Version(11, 0, 0), DotnetProcess.VersionFromPath("/usr/share/dotnet/shared/Microsoft.NETCore.App/11.0.0-preview.3.25/libcoreclr.so"));
    }

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited a minute for {what}");
            await Task.Delay(100);
        }
    }

    public void Dispose() => Directory.Delete(_session, recursive: true);

    /// <summary>`sleep 30` with one more environment variable, killed on dispose.</summary>
    private sealed class Sleeper : IDisposable
    {
        private readonly Process _process;

        private Sleeper(Process process) => _process = process;

        public int Pid => _process.Id;

        public static Sleeper Start(string name, string value)
        {
            var sleeper = new Sleeper(Process.Start(new ProcessStartInfo("sleep", "30") { Environment = { [name] = value } })!);
            // Process.Start can return before the child's exec, and /proc/PID/environ is the new
            // environment only once exec has laid out the new stack, which comes after /proc/PID/exe
            // already names the new program: wait for the variable itself.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!(File.ResolveLinkTarget($"/proc/{sleeper.Pid}/exe", false)?.Name == "sleep"
                     && DotnetProcess.Environment(sleeper.Pid).TryGetValue(name, out var seen) && seen == value)
                   && DateTime.UtcNow < deadline)
                Thread.Sleep(5);
            return sleeper;
        }

        public void Dispose()
        {
            _process.Kill();
            _process.Dispose();
        }
    }
}
