namespace Foom.Recorder.Launch;

/// <summary>
/// The app a command runs, by name: the program's file name, except for a runtime that runs the
/// app from a file, where the app is that file (<c>dotnet X.dll</c> is "X", <c>python3 tool.py</c>
/// "tool", <c>python3 -m pkg</c> "pkg", <c>java -jar x.jar</c> "x", <c>java com.example.Main</c>
/// "com.example.Main", <c>node app.js</c> "app"). Sessions are kept per app (--keep), so two
/// .NET programs must not share the app "dotnet". <c>--app</c> overrides it.
/// </summary>
public static class AppIdentity
{
    /// <summary>java's options that take the next argument as their value.</summary>
    private static readonly HashSet<string> JavaOptionsWithValue = new(StringComparer.Ordinal)
    {
        "-cp", "-classpath", "--class-path", "-p", "--module-path", "--add-modules", "--add-opens", "--add-exports", "--enable-native-access",
    };

    /// <summary>python's options that take the next argument as their value (-c runs a string: no file names the app).</summary>
    private static readonly HashSet<string> PythonOptionsWithValue = new(StringComparer.Ordinal) { "-W", "-X", "--check-hash-based-pycs" };

    /// <summary>The app's name for <paramref name="argv"/> (argv[0] as given) run from <paramref name="executable"/>.</summary>
    public static string Name(string executable, IReadOnlyList<string> argv)
    {
        var program = Path.GetFileName(executable);
        var arguments = argv.Skip(1).ToList();
        var app = program switch
        {
            "dotnet" => FileName(arguments.FirstOrDefault(a => a.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))),
            "java" => Java(arguments),
            "node" or "nodejs" => FileName(arguments.FirstOrDefault(a => !a.StartsWith('-') && HasExtension(a, ".js", ".mjs", ".cjs", ".ts"))),
            _ when program == "python" || program.StartsWith("python3", StringComparison.Ordinal) => Python(arguments),
            _ => null,
        };
        return string.IsNullOrEmpty(app) ? program : app;
    }

    private static string? Java(List<string> arguments)
    {
        for (var i = 0; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            if (argument is "-jar" or "-m" or "--module" && i + 1 < arguments.Count)
                return argument == "-jar" ? FileName(arguments[i + 1]) : arguments[i + 1].Split('/')[0];
            if (JavaOptionsWithValue.Contains(argument)) i++;
            else if (!argument.StartsWith('-')) return argument;
        }
        return null;
    }

    private static string? Python(List<string> arguments)
    {
        for (var i = 0; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            if (argument == "-m" && i + 1 < arguments.Count) return arguments[i + 1];
            if (argument == "-c") return null;
            if (PythonOptionsWithValue.Contains(argument)) i++;
            else if (!argument.StartsWith('-')) return FileName(argument);
        }
        return null;
    }

    /// <summary>A file's name without its folder and extension (a module or class name keeps its dots).</summary>
    private static string? FileName(string? path) => path is null ? null : Path.GetFileNameWithoutExtension(path.TrimEnd('/'));

    private static bool HasExtension(string path, params string[] extensions) =>
        extensions.Any(extension => path.EndsWith(extension, StringComparison.OrdinalIgnoreCase));
}
