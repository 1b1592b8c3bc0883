using Foom.Recorder.Launch;

namespace Foom.Recording.Tests.Launch;

public class ProgramResolverTests
{
    [Fact]
    public void AProgramOnThePathIsFound()
    {
        var resolved = ProgramResolver.Resolve("sh", "/nonexistent:/bin:/usr/bin");
        Assert.True(File.Exists(resolved.Path));
        Assert.EndsWith("/sh", resolved.Path);
    }

    [Fact]
    public void AMissingProgramSaysSoWithTheShellsStatus()
    {
        var error = Assert.Throws<ProgramNotRunnableException>(() => ProgramResolver.Resolve("no-such-program-foom", "/bin:/usr/bin"));
        Assert.Equal(127, error.ExitStatus);
        Assert.Contains("no-such-program-foom", error.Message);
        Assert.Contains("not found", error.Message);
    }

    [Fact]
    public void AFileThatIsNotExecutableSaysSo()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var error = Assert.Throws<ProgramNotRunnableException>(() => ProgramResolver.Resolve(file));
            Assert.Equal(126, error.ExitStatus);
            Assert.Contains("not executable", error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ADirectoryIsNotAProgram()
    {
        var error = Assert.Throws<ProgramNotRunnableException>(() => ProgramResolver.Resolve("/tmp"));
        Assert.Equal(126, error.ExitStatus);
        Assert.Contains("directory", error.Message);
    }

    [Theory]
    [InlineData("512M", 512L << 20)]
    [InlineData("2G", 2L << 30)]
    [InlineData("1.5GiB", 3L << 29)]
    [InlineData("4096", 4096)]
    [InlineData("64 KB", 64L << 10)]
    public void SizesAreReadWithBinaryUnits(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes, out var problem), problem);
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("12X")]
    [InlineData("0")]
    [InlineData("")]
    public void BadSizesAreRefusedWithAReason(string text)
    {
        Assert.False(ByteSize.TryParse(text, out _, out var problem));
        Assert.Contains(text.Length == 0 ? "''" : text, problem);
    }
}
