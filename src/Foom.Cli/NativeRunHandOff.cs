#if !FOOM_NATIVE
using System.Runtime.InteropServices;
using Foom.Interop;

namespace Foom.Cli;

/// <summary>
/// Installed as a dotnet tool, foom.dll hands `foom run` to the native build packed beside it
/// (foom-native, compiled ahead of time), as ./foom does with .foom/native/foom: the program under
/// the recorder then starts without waiting for the JIT to compile the recorder. Where there is no
/// native build (foom.dll run from a build of the repository), foom.dll runs the command itself.
/// </summary>
internal static class NativeRunHandOff
{
    public const string FileName = "foom-native";

    /// <summary>Replaces this process with the native `foom run` when <paramref name="args"/> is a run and it is there; returns otherwise.</summary>
    public static void ExecIfPacked(string[] args)
    {
        if (args.Length == 0 || args[0] != "run") return;
        var native = Path.Combine(AppContext.BaseDirectory, FileName);
        if (!File.Exists(native) || !PackagedFiles.EnsureExecutable(native)) return;
        var argv = new string?[args.Length + 2];
        argv[0] = native;
        args.CopyTo(argv, 1);
        Processes.execv(native, argv);
        // execv returns only when it failed.
        Console.Error.WriteLine($"foom: {native} could not be started ({Marshal.GetLastPInvokeErrorMessage()}); foom run runs in foom.dll instead");
    }
}
#endif
