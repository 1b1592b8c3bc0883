using System.CommandLine;
using Foom.Cli.Commands;
using Foom.Recorder.Recording;

// The command-line program behind ./foom. Each command lives in its own file under Commands/.
RunTiming.Mark("runtime-started");
#if !FOOM_NATIVE
Foom.Cli.NativeRunHandOff.ExecIfPacked(args);
#endif
var run = RunCommand.Create();
var root = new RootCommand("Foom: what was holding the memory when the process died, and which causes hit the most runs.")
{
    run,
#if !FOOM_NATIVE
    SessionsCommand.Create(),
    ReportCommand.Create(),
    JetsamCommand.Create(),
    PsCommand.Create(),
    DiffCommand.Create(),
    UploadCommand.Create(),
    ServeCommand.Create(),
    DemoCommand.Create(),
#endif
};
Foom.Cli.Output.ExtraHelpAction.Add(root, run, RunCommand.ServiceExamples);
// System.CommandLine's own SIGINT/SIGTERM handling would end the process two seconds after the
// signal with 130/143, which is wrong for `foom run`: a SIGTERM is the program's to receive, and
// Foom must stay to record how it ended. Commands that care handle termination themselves.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
