using System.Text.Encodings.Web;
using System.Text.Json;

namespace Foom.Cli.Output;

/// <summary>How the --format json outputs are written: indented, and readable (+, ', &lt; as themselves, not \u002B).</summary>
internal static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
