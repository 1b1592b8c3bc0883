namespace Foom.Testing;

/// <summary>What a `foom` command did: its status and its two output streams.</summary>
public sealed record CliResult(int ExitCode, string Output, string Errors)
{
    public string Describe() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Errors}";
}
