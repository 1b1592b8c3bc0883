namespace Foom.Report.IO;

/// <summary>
/// A report or session that cannot be read whole: names the file, the field (a JSON path such
/// as items[3].stacks[0].size, or a storage file) and what is wrong with it.
/// </summary>
public sealed class ReportFormatException(string file, string field, string problem, Exception? inner = null)
    : Exception($"{file}: {(field.Length > 0 ? field + ": " : "")}{problem}", inner)
{
    public string File { get; } = file;
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}
