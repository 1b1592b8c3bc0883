namespace Foom.Storage.Text;

/// <summary>A string of a JSON document that Foom refuses: where it is (a path such as items[3].name) and what is wrong.</summary>
public readonly record struct BadString(string Field, string Problem)
{
    public override string ToString() => $"{Field}: {Problem}";
}
