namespace Foom.Recorder.Limits;

/// <summary>
/// The kernel notifications that stand for WeChat's monitor's didReceiveMemoryWarning, chosen for where
/// the program runs, for the recorder to wait on (<see cref="MemoryNotifications.WaitAny"/>)
/// beside its footprint sampling:
/// <list type="bullet">
/// <item>its own v1 group: a usage threshold at warn-at × limit (the kernel's own --warn-at),
/// pressure level medium, and OOM;</item>
/// <item>its own v2 group: a PSI trigger on the group's memory.pressure, and changes of
/// memory.events (high, max, oom, oom_kill); --warn-at is then the recorder's own comparison of
/// each footprint sample, v2 having no usage thresholds;</item>
/// <item>no group of its own: a PSI trigger on /proc/pressure/memory.</item>
/// </list>
/// A usage threshold fires when usage crosses it either way: the recorder checks the footprint
/// before it records a warning. What could not be set up is in <see cref="Problems"/>, not thrown.
/// </summary>
public sealed class MemoryWarningSources : IDisposable
{
    /// <summary>Memory stall worth a warning: 10 % of the time (100 ms in every second) some task waited for memory.</summary>
    public static readonly TimeSpan PressureStall = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan PressureWindow = TimeSpan.FromSeconds(1);

    private MemoryWarningSources(IReadOnlyList<IMemoryNotification> notifications, IReadOnlyList<string> problems) =>
        (Notifications, Problems) = (notifications, problems);

    public IReadOnlyList<IMemoryNotification> Notifications { get; }

    public IReadOnlyList<string> Problems { get; }

    /// <param name="ownGroup">The program's own memory cgroup, or null.</param>
    /// <param name="limitBytes">The limit the threshold is a fraction of.</param>
    /// <param name="warnAt">The fraction of the limit that raises a threshold warning (--warn-at, default 0.8).</param>
    public static MemoryWarningSources Create(OwnedMemoryCgroup? ownGroup, long limitBytes, double warnAt = 0.8)
    {
        if (warnAt is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(warnAt), warnAt, "--warn-at is a fraction of the limit, above 0 and at most 1");
        var notifications = new List<IMemoryNotification>();
        var problems = new List<string>();
        void Try(string what, Func<IMemoryNotification> open)
        {
            try
            {
                notifications.Add(open());
            }
            catch (Exception problem) when (problem is IOException or NotSupportedException)
            {
                problems.Add($"{what}: {problem.Message}");
            }
        }

        var group = ownGroup?.Group;
        if (group?.Version == CgroupVersion.V1)
        {
            Try("usage threshold", () => CgroupNotification.OnUsageThreshold(group, (long)(limitBytes * warnAt)));
            Try("pressure level", () => CgroupNotification.OnPressureLevel(group, "medium"));
            Try("OOM notification", () => CgroupNotification.OnOom(group));
        }
        else if (group?.Version == CgroupVersion.V2)
        {
            Try("group PSI trigger", () => PsiTrigger.Open(group.File("memory.pressure"), "some", PressureStall, PressureWindow));
            Try("memory.events", () => FileChangeWatch.Open(group.File("memory.events"), "oom"));
        }
        else
        {
            Try("PSI trigger", () => PsiTrigger.Open(Limits.PressureStall.SystemPath, "some", PressureStall, PressureWindow));
        }
        return new MemoryWarningSources(notifications, problems);
    }

    public void Dispose()
    {
        foreach (var notification in Notifications) notification.Dispose();
    }
}
