using System.CommandLine;
using Foom.Cli.Commands;

// The command-line program behind ./foom. Each command lives in its own file under Commands/.
var root = new RootCommand("Foom: what was holding the memory when the process died, and which causes hit the most runs.")
{
    RunCommand.Create(),
    SessionsCommand.Create(),
    ReportCommand.Create(),
    JetsamCommand.Create(),
    PsCommand.Create(),
    DiffCommand.Create(),
    UploadCommand.Create(),
    ServeCommand.Create(),
    DemoCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
