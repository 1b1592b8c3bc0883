using Foom.Storage.Sessions;

namespace Foom.Recorder.Exits;

/// <summary>
/// The facts about the machine and its processes that the exit rules compare across launches:
/// boot id (a reboot), kernel release (an OS upgrade), a process's name, its tracer (a
/// debugger). When a process started is <see cref="Foom.Storage.Sessions.SessionLiveness.ProcessStartTime"/>.
/// </summary>
public static class MachineFacts
{
    /// <summary>
    /// The device id of reports and launch records: the first 16 bytes of SHA-256 over
    /// /etc/machine-id, in hex, so the server can count devices and whitelist one without
    /// learning the machine's own id. Null where the file is missing.
    /// </summary>
    public static string? DeviceId() =>
        (KernelFiles.Read("/etc/machine-id") ?? KernelFiles.Read("/var/lib/dbus/machine-id"))?.Trim() is { Length: > 0 } machineId
            ? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("foom-device:" + machineId)).AsSpan(0, 16))
            : null;

    /// <summary>/proc/sys/kernel/random/boot_id: new at every boot.</summary>
    public static string? BootId() => KernelFiles.Read("/proc/sys/kernel/random/boot_id")?.Trim();

    /// <summary>The kernel release, as uname -r prints it.</summary>
    public static string? KernelRelease() => KernelFiles.Read("/proc/sys/kernel/osrelease")?.Trim();

    /// <summary>A process's name (comm, at most 15 characters); null when it is gone.</summary>
    public static string? ProcessName(int pid) => KernelFiles.Read($"/proc/{pid}/comm")?.TrimEnd('\n');

    /// <summary>The pid of the process tracing <paramref name="pid"/> (a debugger, strace), or 0; null when it is gone.</summary>
    public static int? TracerPid(int pid) =>
        KernelFiles.Read($"/proc/{pid}/status") is { } status && KernelFiles.NumberAfter(status, "TracerPid:") is { } tracer and <= int.MaxValue ? (int)tracer : null;
}
