using System.Globalization;
using System.Runtime.InteropServices;
using Foom.Storage.Sessions;
using Foom.Interop;

namespace Foom.Recorder.Limits;

/// <summary>
/// A memory cgroup Foom made for one run, with the run's limit, so that the kernel's OOM killer
/// kills the program at that limit, as Jetsam kills an iOS app at its own. Made with
/// <see cref="Create"/>; the program enters it before it runs (see <see cref="WrapInTrampoline"/>);
/// its OOM kills are counted from the moment it was made; <see cref="Remove"/> takes it away
/// again, also after a kill, waiting while the dead drain.
/// </summary>
public sealed class OwnedMemoryCgroup : IDisposable
{
    /// <summary>The status the trampoline exits with when it cannot enter the group (the program never ran).</summary>
    public const int TrampolineFailedStatus = 125;

    private static readonly TimeSpan DefaultRemovalTimeout = TimeSpan.FromSeconds(10);

    private OwnedMemoryCgroup(MemoryCgroup group, long limitBytes, IReadOnlyList<string> notes)
    {
        Group = group;
        LimitBytes = limitBytes;
        Notes = notes;
        OomKillBaseline = group.ReadOomKillCount() ?? 0;
    }

    public MemoryCgroup Group { get; }

    public long LimitBytes { get; }

    /// <summary>What was set besides the limit, or could not be (swap limits), for the session's evidence.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The oom_kill counter when the group was made (0 for a fresh group).</summary>
    public long OomKillBaseline { get; }

    public bool Removed { get; private set; }

    /// <summary>"cgroup-v1" or "cgroup-v2": the limit's source as session.json names it.</summary>
    public string LimitSource => Group.Version == CgroupVersion.V1 ? "cgroup-v1" : "cgroup-v2";

    /// <summary>OOM kills in the group since it was made.</summary>
    public long ReadOomKillsSinceCreation() => Math.Max(0, (Group.ReadOomKillCount() ?? OomKillBaseline) - OomKillBaseline);

    /// <summary>
    /// Makes a fresh memory cgroup named <paramref name="name"/> with <paramref name="limitBytes"/>:
    /// cgroup v2 where its memory controller is available, else v1. Swap is bounded too (v2
    /// memory.swap.max = 0, v1 memory.memsw.limit_in_bytes = the limit) so that the limit means
    /// RAM plus swap, as Jetsam's does; where swap accounting is off that is noted, not fatal.
    /// When no group can be made (not root, no memory controller, a read-only cgroupfs), the
    /// result says why, and the caller enforces the limit itself.
    /// </summary>
    public static CgroupCreation Create(string name, long limitBytes, CgroupMounts? mounts = null, int? nearPid = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limitBytes, 1);
        if (name.Length == 0 || name.Contains('/') || name is "." or "..")
            throw new ArgumentException($"'{name}' is not a cgroup name", nameof(name));
        mounts ??= CgroupMounts.Current();
        var problems = new List<string>();
        var own = MemoryCgroup.OfProcess(nearPid ?? Environment.ProcessId, mounts);

        if (mounts.V2 is { } v2 && mounts.V2HasMemoryController)
        {
            // v2 forbids processes in a group whose children have controllers ("no internal
            // processes"), so the group goes beside ours (under our parent), else under the root.
            var ownV2 = own?.Version == CgroupVersion.V2 ? own : null;
            foreach (var parent in Candidates(ownV2?.Parent, new MemoryCgroup(v2, v2.MountPoint)))
                if (TryMake(parent, name, limitBytes, problems) is { } made) return CgroupCreation.Made(made);
        }
        else if (mounts.V2 is not null)
            problems.Add($"cgroup v2 at {mounts.V2.MountPoint} does not offer the memory controller");

        if (mounts.V1Memory is { } v1)
        {
            var ownV1 = own?.Version == CgroupVersion.V1 ? own : null;
            foreach (var parent in Candidates(ownV1, new MemoryCgroup(v1, v1.MountPoint)))
                if (TryMake(parent, name, limitBytes, problems) is { } made) return CgroupCreation.Made(made);
        }
        else problems.Add("no cgroup v1 hierarchy carries the memory controller");

        return CgroupCreation.Unavailable(problems);
    }

    private static IEnumerable<MemoryCgroup> Candidates(MemoryCgroup? preferred, MemoryCgroup root) =>
        preferred is null || preferred.Directory == root.Directory ? [root] : [preferred, root];

    private static OwnedMemoryCgroup? TryMake(MemoryCgroup parent, string name, long limitBytes, List<string> problems)
    {
        var notes = new List<string>();
        if (parent.Version == CgroupVersion.V2 && !CgroupMounts.ReadWords(parent.File("cgroup.subtree_control")).Contains("memory"))
        {
            var errno = CgroupFiles.Write(parent.File("cgroup.subtree_control"), "+memory");
            if (errno != 0)
            {
                problems.Add($"cannot enable the memory controller below {parent.Directory}: {Errno.Text(errno)}");
                return null;
            }
        }

        var directory = Path.Combine(parent.Directory, name);
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot create {directory}: {problem.Message}");
            return null;
        }

        var group = new MemoryCgroup(parent.Mount, directory);
        var limitFile = group.Version == CgroupVersion.V1 ? "memory.limit_in_bytes" : "memory.max";
        var limitText = limitBytes.ToString(CultureInfo.InvariantCulture);
        var limitError = CgroupFiles.Write(group.File(limitFile), limitText);
        if (limitError != 0)
        {
            problems.Add($"cannot set {group.File(limitFile)}: {Errno.Text(limitError)}");
            TryRemoveDirectory(directory);
            return null;
        }
        if (group.ReadLimit() is not { } applied)
        {
            problems.Add($"{group.File(limitFile)} does not read back a limit after writing {limitText}");
            TryRemoveDirectory(directory);
            return null;
        }
        notes.Add($"limit {applied} bytes in {group.File(limitFile)}" + (applied != limitBytes ? $" (the kernel rounded {limitBytes} to pages)" : ""));

        if (group.Version == CgroupVersion.V2)
        {
            var swapError = CgroupFiles.Write(group.File("memory.swap.max"), "0");
            notes.Add(swapError == 0 ? "swap off in the group (memory.swap.max = 0)"
                : $"swap not bounded: memory.swap.max: {Errno.Text(swapError)}");
        }
        else
        {
            var memsw = group.File("memory.memsw.limit_in_bytes");
            if (File.Exists(memsw))
            {
                var swapError = CgroupFiles.Write(memsw, limitText);
                notes.Add(swapError == 0 ? "RAM + swap bounded by the same limit (memory.memsw.limit_in_bytes)"
                    : $"swap not bounded: memory.memsw.limit_in_bytes: {Errno.Text(swapError)}");
            }
            else notes.Add("swap not bounded: the kernel does not account swap per group (no memory.memsw.limit_in_bytes)");
        }
        return new OwnedMemoryCgroup(group, applied, notes);
    }

    /// <summary>
    /// The command that runs <paramref name="argv"/> inside this group: a shell that writes its
    /// own pid into cgroup.procs and then execs the program, so that the program's first
    /// instruction already runs under the limit, and the shell's own pages stay charged to the
    /// caller's group. argv[0] becomes the program's path. When the shell cannot join the group
    /// it says so on stderr and exits with <see cref="TrampolineFailedStatus"/> without running
    /// the program.
    /// </summary>
    public (string Executable, IReadOnlyList<string> Argv) WrapInTrampoline(string executable, IReadOnlyList<string> argv)
    {
        var script =
            $"echo $$ > \"$0\" || {{ echo \"foom: cannot enter the memory cgroup through $0\" >&2; exit {TrampolineFailedStatus}; }}; exec \"$@\"";
        var wrapped = new List<string> { "/bin/sh", "-c", script, Group.ProcsFile, executable };
        wrapped.AddRange(argv.Skip(1));
        return ("/bin/sh", wrapped);
    }

    /// <summary>Moves a running process into the group (its pages already charged elsewhere stay there).</summary>
    public void AddProcess(int pid)
    {
        var errno = CgroupFiles.Write(Group.ProcsFile, pid.ToString(CultureInfo.InvariantCulture));
        if (errno != 0) throw new IOException($"cannot move process {pid} into {Group.Directory}: {Errno.Text(errno)}");
    }

    /// <summary>
    /// Removes the group. A group cannot be removed while it holds processes: the dead ones
    /// (a program just OOM-killed) drain within moments, so removal is retried until
    /// <paramref name="timeout"/>; live ones (children the program left running) are moved to
    /// the parent group first — Foom does not kill what the program left behind.
    /// </summary>
    public CgroupRemoval Remove(TimeSpan? timeout = null)
    {
        if (Removed) return new CgroupRemoval(true, null, []);
        var deadline = DateTime.UtcNow + (timeout ?? DefaultRemovalTimeout);
        var movedOut = new List<int>();
        var parent = Group.Parent;
        var pause = TimeSpan.FromMilliseconds(5);
        string? lastProblem = null;
        while (true)
        {
            if (!Group.Exists)
            {
                Removed = true;
                return new CgroupRemoval(true, null, movedOut);
            }
            try
            {
                Directory.Delete(Group.Directory);
                Removed = true;
                return new CgroupRemoval(true, null, movedOut);
            }
            catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
            {
                lastProblem = problem.Message;
            }

            foreach (var pid in Group.ReadProcesses())
            {
                // A zombie cannot move; it leaves when its parent reaps it. A live process can; a gone one need not.
                if (parent is null || ProcessStat.Read(pid) is not { IsZombie: false }) continue;
                if (CgroupFiles.Write(parent.ProcsFile, pid.ToString(CultureInfo.InvariantCulture)) == 0 && !movedOut.Contains(pid))
                    movedOut.Add(pid);
            }

            if (DateTime.UtcNow >= deadline)
                return new CgroupRemoval(false,
                    $"cannot remove {Group.Directory} ({lastProblem}); still inside: {string.Join(", ", Group.ReadProcesses())}", movedOut);
            Thread.Sleep(pause);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 200));
        }
    }

    public void Dispose() => Remove();

    private static void TryRemoveDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            // A group that was just made and never used holds no process; nothing more to do.
        }
    }
}

/// <summary>Either the group Foom made, or why none could be made (the caller then enforces the limit itself).</summary>
public sealed class CgroupCreation
{
    private CgroupCreation(OwnedMemoryCgroup? group, IReadOnlyList<string> problems) => (Group, Problems) = (group, problems);

    public OwnedMemoryCgroup? Group { get; }

    /// <summary>Every attempt that failed, and why, in the order tried.</summary>
    public IReadOnlyList<string> Problems { get; }

    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(Group))]
    public bool Succeeded => Group is not null;

    /// <summary>One line for the user and the session's evidence.</summary>
    public string WhyNot => Problems.Count == 0 ? "" : "no memory cgroup could be made: " + string.Join("; ", Problems);

    internal static CgroupCreation Made(OwnedMemoryCgroup group) => new(group, []);

    internal static CgroupCreation Unavailable(IReadOnlyList<string> problems) => new(null, problems);
}

/// <param name="MovedOut">Live processes moved to the parent group so that the group could go.</param>
public sealed record CgroupRemoval(bool Removed, string? Problem, IReadOnlyList<int> MovedOut);

/// <summary>Writes to cgroup control files with one write(2), so that the kernel's errno comes back as it is.</summary>
internal static class CgroupFiles
{
    public static int Write(string path, string text)
    {
        var fd = Files.open(path, Files.O_WRONLY | Files.O_CLOEXEC);
        if (fd < 0) return Marshal.GetLastPInvokeError();
        try
        {
            return Files.WriteAll(fd, text);
        }
        finally
        {
            Files.close(fd);
        }
    }
}
