using System.Globalization;
using System.Runtime.InteropServices;
using Foom.Interop;

namespace Foom.Recorder.Limits;

/// <summary>
/// A kernel notification the recorder can wait on: a memory warning in the making. Each has a
/// file descriptor that becomes ready when the event happens, so the recorder can wait for
/// several at once (poll) or simply check between footprint samples.
/// </summary>
public interface IMemoryNotification : IDisposable
{
    /// <summary>What it watches, in words, for the evidence.</summary>
    string Description { get; }

    /// <summary>What kind of warning it raises: "threshold", "pressure", "oom" or "events" (session.json's warning source).</summary>
    string Source { get; }

    /// <summary>The descriptor to poll, and for which events.</summary>
    int FileDescriptor { get; }
    short PollEvents { get; }

    /// <summary>Waits up to <paramref name="timeout"/>; true when the event happened (and consumes it).</summary>
    bool Wait(TimeSpan timeout);

    /// <summary>After poll said the descriptor is ready: consumes the event; true when it was a real one.</summary>
    bool Acknowledge();
}

/// <summary>Waiting on several notifications at once.</summary>
public static class MemoryNotifications
{
    /// <summary>Waits up to <paramref name="timeout"/> for any of <paramref name="notifications"/>; returns those that fired (already acknowledged).</summary>
    public static unsafe IReadOnlyList<IMemoryNotification> WaitAny(IReadOnlyList<IMemoryNotification> notifications, TimeSpan timeout)
    {
        if (notifications.Count == 0)
        {
            Thread.Sleep(timeout);
            return [];
        }
        var descriptors = new PollFd[notifications.Count];
        for (var i = 0; i < descriptors.Length; i++)
            descriptors[i] = new PollFd { Fd = notifications[i].FileDescriptor, Events = notifications[i].PollEvents };
        var milliseconds = (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue);
        int ready;
        fixed (PollFd* first = descriptors)
        {
            while ((ready = Polling.poll(first, (nuint)descriptors.Length, milliseconds)) < 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR) throw new IOException($"poll failed: {Errno.Text(errno)}");
            }
        }
        if (ready == 0) return [];
        var fired = new List<IMemoryNotification>();
        for (var i = 0; i < descriptors.Length; i++)
            if ((descriptors[i].Revents & (descriptors[i].Events | Polling.POLLERR)) != 0 && notifications[i].Acknowledge())
                fired.Add(notifications[i]);
        return fired;
    }
}

/// <summary>
/// cgroup v1 notifications through cgroup.event_control and an eventfd: memory.pressure_level
/// (low, medium, critical: the kernel's vmpressure, the closest thing Linux has to
/// didReceiveMemoryWarning), usage thresholds on memory.usage_in_bytes (the kernel's own
/// --warn-at), and OOM on memory.oom_control. The eventfd also fires when the group is removed.
/// </summary>
public sealed class CgroupNotification : IMemoryNotification
{
    private int _eventFd;
    private int _watchedFd;

    private CgroupNotification(int eventFd, int watchedFd, string description, string source) =>
        (_eventFd, _watchedFd, Description, Source) = (eventFd, watchedFd, description, source);

    public string Description { get; }

    public string Source { get; }

    public short PollEvents => Polling.POLLIN;

    public bool Acknowledge() => TryConsume() > 0;

    /// <summary>Pressure at <paramref name="level"/> (low, medium, critical); mode default (this group and below, passed up), hierarchy or local.</summary>
    public static CgroupNotification OnPressureLevel(MemoryCgroup group, string level, string mode = "default")
    {
        if (level is not ("low" or "medium" or "critical")) throw new ArgumentException($"pressure level '{level}' is not low, medium or critical", nameof(level));
        if (mode is not ("default" or "hierarchy" or "local")) throw new ArgumentException($"pressure mode '{mode}' is not default, hierarchy or local", nameof(mode));
        return Register(group, "memory.pressure_level", mode == "default" ? level : $"{level},{mode}", $"memory pressure {level}", "pressure");
    }

    /// <summary>The group's usage crossing <paramref name="bytes"/> (either way).</summary>
    public static CgroupNotification OnUsageThreshold(MemoryCgroup group, long bytes) =>
        Register(group, "memory.usage_in_bytes", bytes.ToString(CultureInfo.InvariantCulture),
            string.Create(CultureInfo.InvariantCulture, $"usage crossed {bytes} bytes"), "threshold");

    /// <summary>The group hitting OOM (the OOM killer is about to act, or acted).</summary>
    public static CgroupNotification OnOom(MemoryCgroup group) => Register(group, "memory.oom_control", null, "out of memory in the group", "oom");

    private static CgroupNotification Register(MemoryCgroup group, string file, string? arguments, string description, string source)
    {
        if (group.Version != CgroupVersion.V1)
            throw new NotSupportedException($"{file} notifications through cgroup.event_control exist in cgroup v1 only; use PsiTrigger or FileChangeWatch on v2");
        var eventFd = Polling.eventfd(0, Polling.EFD_CLOEXEC | Polling.EFD_NONBLOCK);
        if (eventFd < 0) throw new IOException($"eventfd failed: {Errno.Text(Marshal.GetLastPInvokeError())}");
        var watchedFd = Files.open(group.File(file), Files.O_RDONLY | Files.O_CLOEXEC);
        if (watchedFd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Files.close(eventFd);
            throw new IOException($"cannot open {group.File(file)}: {Errno.Text(errno)}");
        }
        var line = arguments is null ? $"{eventFd} {watchedFd}" : $"{eventFd} {watchedFd} {arguments}";
        var error = CgroupFiles.Write(group.File("cgroup.event_control"), line);
        if (error != 0)
        {
            Files.close(watchedFd);
            Files.close(eventFd);
            throw new IOException($"cannot register for {file} notifications in {group.Directory}: {Errno.Text(error)}");
        }
        return new CgroupNotification(eventFd, watchedFd, description, source);
    }

    public int FileDescriptor => _eventFd;

    public bool Wait(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(_eventFd < 0, this);
        return (TryConsume() > 0) || (Polling.PollOne(_eventFd, Polling.POLLIN, timeout) && TryConsume() > 0);
    }

    /// <summary>How many events arrived since the last call (0 when none), without blocking.</summary>
    public unsafe long TryConsume()
    {
        ObjectDisposedException.ThrowIf(_eventFd < 0, this);
        ulong count;
        var read = Files.read(_eventFd, (byte*)&count, sizeof(ulong));
        return read == sizeof(ulong) ? (long)count : 0;
    }

    public void Dispose()
    {
        if (_eventFd < 0) return;
        Files.close(_watchedFd);
        Files.close(_eventFd);
        _eventFd = _watchedFd = -1;
    }
}

/// <summary>
/// A PSI trigger: the kernel wakes us when tasks stalled on memory for more than
/// <c>stall</c> within a <c>window</c> (e.g. "some 150 ms in 1 s"), on /proc/pressure/memory
/// (the machine) or a cgroup v2 group's memory.pressure.
/// </summary>
public sealed class PsiTrigger : IMemoryNotification
{
    private int _fd;

    private PsiTrigger(int fd, string description) => (_fd, Description) = (fd, description);

    public string Description { get; }

    public string Source => "pressure";

    public short PollEvents => Polling.POLLPRI;

    /// <summary>A PSI trigger reports once per window; there is nothing to read.</summary>
    public bool Acknowledge() => true;

    /// <param name="kind">"some" (at least one task stalled) or "full" (all stalled).</param>
    /// <param name="stall">Stall time within the window that fires the trigger.</param>
    /// <param name="window">
    /// The window, 500 ms to 10 s. Without CAP_SYS_RESOURCE the kernel accepts only whole
    /// multiples of 2 s; a window it refuses is then widened to the next one, the stall scaled
    /// with it (the same share of time), and <see cref="Description"/> says so.
    /// </param>
    public static PsiTrigger Open(string pressureFile, string kind, TimeSpan stall, TimeSpan window)
    {
        if (kind is not ("some" or "full")) throw new ArgumentException($"PSI kind '{kind}' is not some or full", nameof(kind));
        var stallMicroseconds = (long)stall.TotalMicroseconds;
        var windowMicroseconds = (long)window.TotalMicroseconds;
        var (fd, error) = TryOpen(pressureFile, kind, stallMicroseconds, windowMicroseconds);
        var adjusted = "";
        const long unprivilegedGranule = 2_000_000;
        if (error == Errno.EINVAL && windowMicroseconds % unprivilegedGranule != 0)
        {
            var widened = (windowMicroseconds / unprivilegedGranule + 1) * unprivilegedGranule;
            var scaledStall = stallMicroseconds * widened / windowMicroseconds;
            (fd, error) = TryOpen(pressureFile, kind, scaledStall, widened);
            if (error == 0)
            {
                adjusted = string.Create(CultureInfo.InvariantCulture,
                    $" (widened from {stallMicroseconds / 1000} ms in {windowMicroseconds / 1000} ms: without CAP_SYS_RESOURCE windows are whole 2 s)");
                (stallMicroseconds, windowMicroseconds) = (scaledStall, widened);
            }
        }
        if (error != 0)
            throw new IOException(string.Create(CultureInfo.InvariantCulture,
                $"cannot set the PSI trigger '{kind} {(long)stall.TotalMicroseconds} {(long)window.TotalMicroseconds}' on {pressureFile}: {Errno.Text(error)}"));
        return new PsiTrigger(fd, string.Create(CultureInfo.InvariantCulture,
            $"memory stall ({kind}) over {stallMicroseconds / 1000} ms in {windowMicroseconds / 1000} ms ({pressureFile}){adjusted}"));
    }

    private static (int Fd, int Error) TryOpen(string pressureFile, string kind, long stallMicroseconds, long windowMicroseconds)
    {
        var fd = Files.open(pressureFile, Files.O_RDWR | Files.O_NONBLOCK | Files.O_CLOEXEC);
        if (fd < 0) return (-1, Marshal.GetLastPInvokeError());
        // The kernel reads the trigger up to its terminating NUL.
        var error = Files.WriteAll(fd, string.Create(CultureInfo.InvariantCulture, $"{kind} {stallMicroseconds} {windowMicroseconds}\0"));
        if (error == 0) return (fd, 0);
        Files.close(fd);
        return (-1, error);
    }

    public int FileDescriptor => _fd;

    public bool Wait(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        return Polling.PollOne(_fd, Polling.POLLPRI, timeout);
    }

    public void Dispose()
    {
        if (_fd < 0) return;
        Files.close(_fd);
        _fd = -1;
    }
}

/// <summary>
/// A cgroup v2 file the kernel announces changes of (memory.events, cgroup.events): poll
/// wakes with POLLPRI when it was modified — how the recorder hears of a new oom_kill at once.
/// </summary>
public sealed class FileChangeWatch : IMemoryNotification
{
    private int _fd;

    private FileChangeWatch(int fd, string description, string source) => (_fd, Description, Source) = (fd, description, source);

    public string Description { get; }

    public string Source { get; }

    public int FileDescriptor => _fd;

    public short PollEvents => Polling.POLLPRI;

    public bool Acknowledge()
    {
        Rearm();
        return true;
    }

    /// <param name="source">The warning source it stands for ("oom" for memory.events, "events" otherwise).</param>
    public static FileChangeWatch Open(string path, string source = "events")
    {
        var fd = Files.open(path, Files.O_RDONLY | Files.O_CLOEXEC);
        if (fd < 0) throw new IOException($"cannot open {path}: {Errno.Text(Marshal.GetLastPInvokeError())}");
        var watch = new FileChangeWatch(fd, $"changes of {path}", source);
        watch.Rearm();
        return watch;
    }

    public bool Wait(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        if (!Polling.PollOne(_fd, Polling.POLLPRI, timeout)) return false;
        Rearm();
        return true;
    }

    /// <summary>kernfs reports a change until the file is read again from its start.</summary>
    private unsafe void Rearm()
    {
        var buffer = stackalloc byte[4096];
        Files.lseek(_fd, 0, 0);
        while (Files.read(_fd, buffer, 4096) > 0)
        {
        }
    }

    public void Dispose()
    {
        if (_fd < 0) return;
        Files.close(_fd);
        _fd = -1;
    }
}
