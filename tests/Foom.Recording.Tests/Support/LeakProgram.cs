namespace Foom.Recording.Tests.Support;

/// <summary>samples/ManagedLeaks, built beside the tests: one .NET program that leaks in the shape its first argument names.</summary>
public static class LeakProgram
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "ManagedLeaks.dll");
}
