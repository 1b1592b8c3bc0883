namespace Foom.Server.Analysis;

/// <summary>
/// The hint rules in force: hints.json in the server's folder when it exists (edited by hand or
/// on the Hints page), else the defaults. Saving validates first, then replaces the file
/// atomically, so a mistake never leaves the server without rules.
/// </summary>
public sealed class HintStore
{
    private readonly Lock _lock = new();

    public HintStore(string path)
    {
        Path = path;
        Current = HintRules.LoadOrDefault(path);
    }

    public string Path { get; }
    public HintRules Current { get; private set; }
    public bool IsCustom => File.Exists(Path);

    public void Save(string json)
    {
        var rules = HintRules.Parse(json, "the hints");
        lock (_lock)
        {
            var temporary = Path + ".tmp";
            File.WriteAllText(temporary, json);
            File.Move(temporary, Path, overwrite: true);
            Current = rules;
        }
    }

    public void ResetToDefaults()
    {
        lock (_lock)
        {
            if (File.Exists(Path)) File.Delete(Path);
            Current = HintRules.Default;
        }
    }
}
