namespace Foom.Storage.Modules;

/// <summary>
/// A loaded module (executable or shared object) of the target.
/// </summary>
/// <param name="Id">1 to 65535, as frames name it.</param>
/// <param name="Path">The file it was loaded from.</param>
/// <param name="BuildId">GNU build-id as lowercase hex ("" when it has none).</param>
/// <param name="LoadBias">What the loader added to the file's virtual addresses ("base" in the report): a frame's offset is pc − LoadBias.</param>
/// <param name="Start">The lowest address it occupies.</param>
/// <param name="Size">The extent from <paramref name="Start"/> it occupies.</param>
/// <param name="Loaded">False once it was unloaded (dlclose); its frames keep naming it.</param>
public sealed record ModuleInfo(int Id, string Path, string BuildId, ulong LoadBias, ulong Start, ulong Size, bool Loaded)
{
    public ulong End => Start + Size;
    public string Name => System.IO.Path.GetFileName(Path);
}
