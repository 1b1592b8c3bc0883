namespace Foom.Recorder.Launch;

/// <summary>How a process ended, decoded from waitpid's status word.</summary>
public readonly record struct WaitStatus(int Raw)
{
    public bool Exited => (Raw & 0x7f) == 0;

    public bool Signaled => ((Raw & 0x7f) + 1) >> 1 > 0 && !Exited;

    /// <summary>The exit code when the process exited.</summary>
    public int ExitCode => (Raw >> 8) & 0xff;

    /// <summary>The signal that ended the process, when one did.</summary>
    public int TermSignal => Raw & 0x7f;

    public bool CoreDumped => Signaled && (Raw & 0x80) != 0;

    /// <summary>What a shell, and `foom run`, return for it: the code, or 128 + the signal.</summary>
    public int ShellStatus => Exited ? ExitCode : 128 + TermSignal;

    public override string ToString() =>
        Exited ? $"exited with status {ExitCode}"
               : $"killed by signal {TermSignal} ({SignalNames.Name(TermSignal)}){(CoreDumped ? ", core dumped" : "")}";
}

public static class SignalNames
{
    private static readonly string[] Names =
    [
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
        "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
        "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
        "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];

    /// <summary>A signal by name (SIGUSR1, USR1) or number (10).</summary>
    public static bool TryParse(string text, out int signal)
    {
        var trimmed = text.Trim().ToUpperInvariant();
        if (int.TryParse(trimmed, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out signal))
            return signal is >= 1 and <= 64;
        var name = trimmed.StartsWith("SIG", StringComparison.Ordinal) ? trimmed : "SIG" + trimmed;
        signal = Array.IndexOf(Names, name);
        return signal > 0;
    }

    public static string Name(int signal) =>
        signal > 0 && signal < Names.Length ? Names[signal] : $"SIGRT{signal}";
}
