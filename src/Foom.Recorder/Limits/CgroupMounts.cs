using System.Text;

namespace Foom.Recorder.Limits;

public enum CgroupVersion
{
    V1 = 1,
    V2 = 2,
}

/// <summary>A mounted cgroup hierarchy: where it is, and which cgroup its mount point shows (its root).</summary>
/// <param name="MountPoint">Where it is mounted, e.g. /sys/fs/cgroup/memory.</param>
/// <param name="Root">The cgroup path shown at the mount point: "/" unless a container bind-mounted a subtree.</param>
public sealed record CgroupMount(CgroupVersion Version, string MountPoint, string Root)
{
    /// <summary>The directory of the cgroup at <paramref name="cgroupPath"/> (as /proc/PID/cgroup writes it), or null when this mount does not show it.</summary>
    public string? DirectoryOf(string cgroupPath)
    {
        var relative = cgroupPath;
        if (Root != "/")
        {
            if (cgroupPath != Root && !cgroupPath.StartsWith(Root + "/", StringComparison.Ordinal)) return null;
            relative = cgroupPath[Root.Length..];
        }
        return relative is "" or "/" ? MountPoint : MountPoint + relative;
    }

    /// <summary>The cgroup path of a directory under this mount (the inverse of <see cref="DirectoryOf"/>).</summary>
    public string PathOf(string directory)
    {
        var relative = directory.Length > MountPoint.Length ? directory[MountPoint.Length..] : "";
        var rootless = Root == "/" ? "" : Root;
        return relative.Length == 0 ? (rootless.Length == 0 ? "/" : rootless) : rootless + relative;
    }
}

/// <summary>
/// Where the memory cgroups are: the cgroup v1 hierarchy that carries the memory controller,
/// and the cgroup v2 (unified) hierarchy, read from /proc/self/mountinfo.
/// </summary>
public sealed record CgroupMounts(CgroupMount? V1Memory, CgroupMount? V2)
{
    public static CgroupMounts Current() => Parse(File.ReadAllText("/proc/self/mountinfo"));

    /// <summary>
    /// Parses mountinfo lines: "id parent major:minor root mountpoint options [optional...] - fstype source superoptions".
    /// </summary>
    public static CgroupMounts Parse(string mountinfo)
    {
        CgroupMount? v1Memory = null, v2 = null;
        foreach (var line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (separator < 6 || fields.Length < separator + 3) continue;
            var fileSystem = fields[separator + 1];
            var root = Unescape(fields[3]);
            var mountPoint = Unescape(fields[4]);
            var superOptions = fields[separator + 3].Split(',');
            if (fileSystem == "cgroup" && superOptions.Contains("memory"))
                v1Memory ??= new CgroupMount(CgroupVersion.V1, mountPoint, root);
            else if (fileSystem == "cgroup2")
                v2 ??= new CgroupMount(CgroupVersion.V2, mountPoint, root);
        }
        return new CgroupMounts(v1Memory, v2);
    }

    /// <summary>True when the v2 hierarchy offers the memory controller (it cannot while v1 holds it).</summary>
    public bool V2HasMemoryController =>
        V2 is not null && ReadWords(Path.Combine(V2.MountPoint, "cgroup.controllers")).Contains("memory");

    internal static string[] ReadWords(string path)
    {
        try
        {
            return File.ReadAllText(path).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception problem) when (problem is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>mountinfo writes space, tab, newline and backslash in paths as \040, \011, \012, \134.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var builder = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                builder.Append((char)((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0')));
                i += 3;
            }
            else builder.Append(field[i]);
        }
        return builder.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
