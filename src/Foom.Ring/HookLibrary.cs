namespace Foom.Ring;

/// <summary>Where libfoomhook.so is: the build copies it beside the assemblies of Foom.Ring and of
/// every project that references it.</summary>
public static class HookLibrary
{
    public const string FileName = "libfoomhook.so";

    /// <summary>The hook beside this assembly; an error that says so when it is missing.</summary>
    public static string Path
    {
        get
        {
            var path = System.IO.Path.Combine(AppContext.BaseDirectory, FileName);
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"{path} is missing: the hook is built by `dotnet build` (native/foomhook, which needs gcc and make)", path);
            return path;
        }
    }
}
