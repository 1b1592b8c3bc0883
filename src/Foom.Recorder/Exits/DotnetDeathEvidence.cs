using Foom.Managed;
using Foom.Storage;
using Foom.Storage.Managed;

namespace Foom.Recorder.Exits;

/// <summary>
/// Reads a session's evidence of a .NET OutOfMemoryException death (the runtime's crash report,
/// managed.json) for the exit-reason rules, observed or inferred; what cannot be read goes into
/// <c>problems</c> and counts as no evidence.
/// </summary>
public static class DotnetDeathEvidence
{
    public static DotnetOutOfMemory? Find(string sessionDirectory, long deathTime, List<string> problems)
    {
        ManagedStatus? status;
        try
        {
            status = ManagedFiles.ReadStatus(sessionDirectory);
        }
        catch (SessionFormatException unreadable)
        {
            problems.Add(unreadable.Message);
            status = null;
        }
        var found = DotnetOutOfMemory.Find(sessionDirectory, status, deathTime, out var problem);
        if (problem is not null) problems.Add(problem);
        return found;
    }
}
