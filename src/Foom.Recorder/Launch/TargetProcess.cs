using System.Runtime.InteropServices;
using System.Text;
using Foom.Interop;

namespace Foom.Recorder.Launch;

/// <summary>
/// The monitored program, started with posix_spawn so that its environment (the hook, the ring)
/// and its signal state are exactly what we choose: every signal at its default disposition and
/// none blocked, whatever the .NET runtime does in this process. Its standard streams are ours,
/// untouched. Not System.Diagnostics.Process: that reports a signal death as 128 + signal, the
/// same number as an exit code, and the exit-reason classifier must tell them apart.
/// </summary>
public sealed class TargetProcess
{
    private readonly TaskCompletionSource<WaitStatus> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _reaped;

    private TargetProcess(int pid)
    {
        Pid = pid;
        var waiter = new Thread(WaitForExitOnThisThread) { IsBackground = true, Name = $"foom waitpid {pid}" };
        waiter.Start();
    }

    public int Pid { get; }

    /// <summary>Completes when the program has ended and been reaped.</summary>
    public Task<WaitStatus> Exited => _exit.Task;

    public bool HasExited => Volatile.Read(ref _reaped) != 0;

    /// <summary>
    /// Starts <paramref name="executable"/> (a resolved path) with <paramref name="argv"/> (argv[0]
    /// first) and the complete environment <paramref name="environment"/>.
    /// </summary>
    public static unsafe TargetProcess Start(string executable, IReadOnlyList<string> argv, IReadOnlyDictionary<string, string> environment)
    {
        using var strings = new NativeStrings();
        var path = strings.Add(executable);
        var argvBlock = strings.AddArray(argv);
        var envBlock = strings.AddArray(environment.Select(pair => pair.Key + "=" + pair.Value).ToList());

        var attributes = stackalloc byte[Spawning.SpawnAttributesSize];
        var signals = stackalloc byte[Spawning.SignalSetSize];
        Check(Spawning.posix_spawnattr_init(attributes), "posix_spawnattr_init");
        try
        {
            Spawning.sigemptyset(signals);
            Check(Spawning.posix_spawnattr_setsigmask(attributes, signals), "posix_spawnattr_setsigmask");
            Spawning.sigfillset(signals);
            Check(Spawning.posix_spawnattr_setsigdefault(attributes, signals), "posix_spawnattr_setsigdefault");
            Check(Spawning.posix_spawnattr_setflags(attributes, Spawning.PosixSpawnSetSigDefault | Spawning.PosixSpawnSetSigMask),
                "posix_spawnattr_setflags");
            var error = Spawning.posix_spawn(out var pid, path, 0, attributes, argvBlock, envBlock);
            if (error != 0)
                throw new TargetStartException($"cannot start {executable}: {Marshal.GetPInvokeErrorMessage(error)}", error);
            return new TargetProcess(pid);
        }
        finally
        {
            Spawning.posix_spawnattr_destroy(attributes);
        }
    }

    /// <summary>Sends a signal unless the program has already been reaped (so never to a reused pid).</summary>
    public bool Signal(int signal)
    {
        lock (_exit)
        {
            if (HasExited) return false;
            return Processes.kill(Pid, signal) == 0;
        }
    }

    private unsafe void WaitForExitOnThisThread()
    {
        // Wait without reaping (WNOWAIT), then reap under the lock that Signal takes: between
        // the two the zombie keeps its pid, so a signal can never reach a stranger that reused it.
        var info = stackalloc byte[Processes.SignalInfoSize];
        while (Processes.waitid(Processes.P_PID, Pid, info, Processes.WEXITED | Processes.WNOWAIT) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR) continue;
            Fail($"waitid({Pid}) failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            return;
        }
        lock (_exit)
        {
            var reaped = Processes.waitpid(Pid, out var status, Processes.WNOHANG);
            Volatile.Write(ref _reaped, 1);
            if (reaped == Pid) _exit.TrySetResult(new WaitStatus(status));
            else Fail($"waitpid({Pid}) found no exited child after waitid said it had exited");
        }
    }

    private void Fail(string message)
    {
        Volatile.Write(ref _reaped, 1);
        _exit.TrySetException(new InvalidOperationException(message));
    }

    private static void Check(int error, string call)
    {
        if (error != 0) throw new TargetStartException($"{call} failed: {Marshal.GetPInvokeErrorMessage(error)}", error);
    }

    /// <summary>NUL-terminated UTF-8 strings and NULL-terminated arrays of them, freed together.</summary>
    private sealed unsafe class NativeStrings : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public byte* Add(string value)
        {
            var byteCount = Encoding.UTF8.GetByteCount(value);
            var block = (byte*)NativeMemory.Alloc((nuint)byteCount + 1);
            _blocks.Add((nint)block);
            Encoding.UTF8.GetBytes(value, new Span<byte>(block, byteCount));
            block[byteCount] = 0;
            return block;
        }

        public byte** AddArray(IReadOnlyList<string> values)
        {
            var array = (byte**)NativeMemory.Alloc((nuint)(values.Count + 1), (nuint)sizeof(nint));
            _blocks.Add((nint)array);
            for (var i = 0; i < values.Count; i++) array[i] = Add(values[i]);
            array[values.Count] = null;
            return array;
        }

        public void Dispose()
        {
            foreach (var block in _blocks) NativeMemory.Free((void*)block);
        }
    }
}

public sealed class TargetStartException(string message, int errno) : Exception(message)
{
    public int Errno { get; } = errno;
}
