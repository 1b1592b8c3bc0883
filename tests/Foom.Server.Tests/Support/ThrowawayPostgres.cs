using System.Diagnostics;
using System.Globalization;
using System.Net;
using Foom.Testing;

namespace Foom.Server.Tests.Support;

/// <summary>
/// A PostgreSQL cluster of the test process's own, for when FOOM_TEST_POSTGRES names none: made
/// with the installed server's initdb in a temporary directory, listening on 127.0.0.1 at a free
/// port, stopped and removed when the process exits (and, should the process be killed, by the
/// next test run, which removes clusters whose owner is gone). PostgreSQL refuses to run as root,
/// so under root (CI) it runs as the postgres user that Debian's package creates. A machine without
/// PostgreSQL fails the tests that need it, saying what to install; none is skipped.
/// </summary>
internal static class ThrowawayPostgres
{
    private const string Prefix = "foom-test-postgres-";
    private const string ServerUser = "postgres";
    private static readonly Lazy<string> Cluster = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The connection string of a superuser role ("foom", trusted on 127.0.0.1) on the cluster, started on first use.</summary>
    public static string ConnectionString => Cluster.Value;

    private static string Start()
    {
        var bin = InstalledBin() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed: the server's PostgreSQL tests start a throwaway cluster with /usr/lib/postgresql/VERSION/bin/initdb "
            + "(Debian's postgresql package; ./test installs it), or use the server named by FOOM_TEST_POSTGRES (a connection string of a role that may create databases)");
        RemoveAbandoned(bin);
        var root = Directory.CreateTempSubdirectory(Prefix).FullName;
        File.WriteAllText(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var data = Path.Combine(root, "data");
        if (Environment.IsPrivilegedProcess) Run("chown", "-R", ServerUser + ":", root);
        RunAsServer(bin, "initdb", "-D", data, "-U", "foom", "--auth=trust", "--encoding=UTF8", "--no-sync");
        // A port found free can be taken before the server binds it: a few tries.
        for (var attempt = 1; ; attempt++)
        {
            var port = LoopbackPort.Free();
            try
            {
                RunAsServer(bin, "pg_ctl", "-D", data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "120",
                    "-o", $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                    "start");
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                continue;
            }
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Remove(bin, root);
            return $"Host=127.0.0.1;Port={port};Username=foom;Database=postgres;Timeout=60;Command Timeout=120";
        }
    }

    /// <summary>The newest installed server's bin directory, or null.</summary>
    private static string? InstalledBin()
    {
        const string installed = "/usr/lib/postgresql";
        if (!Directory.Exists(installed)) return null;
        return Directory.EnumerateDirectories(installed)
            .Select(d => (Directory: d, Version: double.TryParse(Path.GetFileName(d), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : -1))
            .Where(d => d.Version >= 0 && File.Exists(Path.Combine(d.Directory, "bin", "initdb")))
            .OrderByDescending(d => d.Version)
            .Select(d => Path.Combine(d.Directory, "bin"))
            .FirstOrDefault();
    }

    /// <summary>Clusters left by test processes that were killed before they could remove theirs.</summary>
    private static void RemoveAbandoned(string bin)
    {
        foreach (var root in Directory.EnumerateDirectories(Path.GetTempPath(), Prefix + "*"))
        {
            var owner = Path.Combine(root, "owner.pid");
            if (File.Exists(owner) && int.TryParse(File.ReadAllText(owner), out var pid) && Directory.Exists($"/proc/{pid}")) continue;
            if (!File.Exists(owner) && Directory.GetLastWriteTimeUtc(root) > DateTime.UtcNow.AddMinutes(-10)) continue;   // still being made
            Remove(bin, root);
        }
    }

    private static void Remove(string bin, string root)
    {
        var data = Path.Combine(root, "data");
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            try
            {
                RunAsServer(bin, "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop");
            }
            catch (InvalidOperationException)
            {
                // Not running any more: its files are removed all the same.
            }
        }
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // The next run removes it.
        }
        catch (UnauthorizedAccessException)
        {
            // Another user's cluster: not ours to remove.
        }
    }

    private static void RunAsServer(string bin, string program, params string[] args)
    {
        var path = Path.Combine(bin, program);
        if (Environment.IsPrivilegedProcess)
            Run("setpriv", ["--reuid=" + ServerUser, "--regid=" + ServerUser, "--init-groups", "--", path, .. args]);
        else
            Run(path, args);
    }

    private static void Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(180)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} did not finish in 180 s");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {error.Result}{output.Result}");
    }

}
