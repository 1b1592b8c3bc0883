using Foom.Interop;

namespace Foom.Recorder.Launch;

/// <summary>
/// Finds the file `foom run` will execute, the way execvp would (a name with a slash is a path,
/// otherwise PATH is searched), so that a missing or non-executable program gets a clear message
/// and the shell's status (127, 126) before anything is recorded.
/// </summary>
public static class ProgramResolver
{
    /// <summary>The status a shell returns for a command it cannot find.</summary>
    public const int NotFoundStatus = 127;

    /// <summary>The status a shell returns for a command it found but cannot execute.</summary>
    public const int NotExecutableStatus = 126;

    private const int ExecuteAccess = 1; // X_OK

    public static ResolvedProgram Resolve(string program, string? searchPath = null)
    {
        if (string.IsNullOrEmpty(program))
            throw new ProgramNotRunnableException("no program was given after --", NotFoundStatus);

        if (program.Contains('/'))
            return Check(Path.GetFullPath(program), program);

        searchPath ??= Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        ProgramNotRunnableException? firstProblem = null;
        foreach (var directory in searchPath.Split(':'))
        {
            var candidate = Path.Combine(directory.Length == 0 ? "." : directory, program);
            if (!File.Exists(candidate)) continue;
            try
            {
                return Check(Path.GetFullPath(candidate), program);
            }
            catch (ProgramNotRunnableException problem)
            {
                // execvp keeps searching past a file it cannot execute; so do we, but remember why.
                firstProblem ??= problem;
            }
        }
        throw firstProblem ?? new ProgramNotRunnableException($"{program}: command not found in PATH", NotFoundStatus);
    }

    private static unsafe ResolvedProgram Check(string path, string asGiven)
    {
        if (Directory.Exists(path))
            throw new ProgramNotRunnableException($"{asGiven}: is a directory, not a program", NotExecutableStatus);
        if (!File.Exists(path))
            throw new ProgramNotRunnableException($"{asGiven}: no such file", NotFoundStatus);
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pathBytes = bytes)
        {
            if (Files.access(pathBytes, ExecuteAccess) != 0)
                throw new ProgramNotRunnableException($"{asGiven}: not executable (permission denied)", NotExecutableStatus);
        }
        return new ResolvedProgram(path);
    }
}

public sealed record ResolvedProgram(string Path);

/// <summary>The program cannot be started at all; <see cref="ExitStatus"/> is what a shell would return.</summary>
public sealed class ProgramNotRunnableException(string message, int exitStatus) : Exception(message)
{
    public int ExitStatus { get; } = exitStatus;
}
