using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Foom.Interop;

namespace Foom.Recorder.Limits;

/// <summary>One record of the kernel's log as /dev/kmsg hands it over.</summary>
/// <param name="Level">Syslog level, 0 (emergency) to 7 (debug).</param>
/// <param name="Sequence">The record's sequence number (gaps mean records were overwritten).</param>
/// <param name="TimestampMicroseconds">Microseconds since boot (CLOCK_MONOTONIC).</param>
public sealed record KernelLogRecord(int Level, long Sequence, long TimestampMicroseconds, string Message)
{
    /// <summary>
    /// Parses "prefix,seq,usec,flags[,...];message" followed by optional " KEY=value" lines.
    /// The message's non-printable bytes arrive as \xNN and stay that way.
    /// </summary>
    public static KernelLogRecord? Parse(string raw)
    {
        var semicolon = raw.IndexOf(';');
        if (semicolon < 0) return null;
        var fields = raw[..semicolon].Split(',');
        if (fields.Length < 3
            || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
            || !long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds))
            return null;
        var message = raw[(semicolon + 1)..];
        var newline = message.IndexOf('\n');
        if (newline >= 0) message = message[..newline];
        return new KernelLogRecord(prefix & 7, sequence, microseconds, message);
    }
}

/// <summary>
/// The kernel log, read from "now" on: /dev/kmsg opened non-blocking and moved to its end when
/// the run starts, so that only what the kernel says during the run is seen (an old "Killed
/// process" line for a pid that has since been reused cannot be mistaken for ours). Every
/// read() returns one record; EAGAIN means none is waiting; EPIPE means records were
/// overwritten before we read them (counted in <see cref="OverwrittenGaps"/>).
/// </summary>
public sealed unsafe class KernelLog : IDisposable
{
    public const string DefaultPath = "/dev/kmsg";

    // The kernel's records are at most 8 KiB (PRINTKRB_RECORD_MAX plus the prefix and dictionary).
    private const int RecordBufferSize = 16 * 1024;

    private readonly byte[] _buffer = new byte[RecordBufferSize];
    private int _fd;

    private KernelLog(int fd, string path) => (_fd, Path) = (fd, path);

    public string Path { get; }

    /// <summary>How many times records were lost because the kernel's ring overwrote them first.</summary>
    public long OverwrittenGaps { get; private set; }

    /// <summary>Opens the log at its end, or says why it cannot be read (no permission, dmesg_restrict, no such device).</summary>
    public static KernelLogOpening OpenAtEnd(string path = DefaultPath)
    {
        var fd = Files.open(path, Files.O_RDONLY | Files.O_NONBLOCK | Files.O_CLOEXEC);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return new KernelLogOpening(null, $"{path} is unreadable ({Errno.Text(errno)}): the kernel's kill lines cannot be checked");
        }
        if (Files.lseek(fd, 0, Files.SEEK_END) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Files.close(fd);
            return new KernelLogOpening(null, $"{path} cannot be read from its end ({Errno.Text(errno)})");
        }
        return new KernelLogOpening(new KernelLog(fd, path), null);
    }

    /// <summary>Reads every record waiting now, up to <paramref name="maximum"/>, without blocking.</summary>
    public IReadOnlyList<KernelLogRecord> ReadAvailable(int maximum = 100_000)
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        var records = new List<KernelLogRecord>();
        fixed (byte* buffer = _buffer)
        {
            while (records.Count < maximum)
            {
                var count = Files.read(_fd, buffer, _buffer.Length);
                if (count > 0)
                {
                    if (KernelLogRecord.Parse(Encoding.UTF8.GetString(buffer, (int)count)) is { } record) records.Add(record);
                    continue;
                }
                if (count == 0) break;
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR) continue;
                if (errno == Errno.EPIPE)
                {
                    OverwrittenGaps++;
                    continue;
                }
                if (errno == Errno.EAGAIN) break;
                throw new IOException($"reading {Path} failed: {Errno.Text(errno)}");
            }
        }
        return records;
    }

    public void Dispose()
    {
        if (_fd < 0) return;
        Files.close(_fd);
        _fd = -1;
    }
}

/// <summary>The opened log, or why there is none.</summary>
public sealed record KernelLogOpening(KernelLog? Log, string? Problem);
