using Foom.Storage.Sessions;

namespace Foom.Storage.Tests;

public class KernelFilesTests
{
    [Fact]
    public void ANumberIsReadAfterItsLabelFromThisProcesssStatus()
    {
        var status = KernelFiles.Read("/proc/self/status");
        Assert.NotNull(status);
        Assert.Equal(Environment.ProcessId, KernelFiles.NumberAfter(status, "Pid:"));
        Assert.Equal(Environment.ProcessId, KernelFiles.NumberAfter(status, "Tgid:"));
        Assert.Null(KernelFiles.NumberAfter(status, "NoSuchField:"));
        // A field whose value is not a whole number is no number.
        Assert.Null(KernelFiles.NumberAfter(status, "Name:"));
    }

    [Fact]
    public void AFileThatIsNotThereIsNullNotAnException()
    {
        Assert.Null(KernelFiles.Read($"/proc/{1 << 23}/status"));
        Assert.Null(KernelFiles.Read("/nonexistent/foom"));
    }
}
