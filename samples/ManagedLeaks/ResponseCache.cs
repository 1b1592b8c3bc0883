using System.Runtime.CompilerServices;

namespace ManagedLeaks;

/// <summary>(c) Strings in a Dictionary cache keyed by request, never evicted.</summary>
public sealed class ResponseCache : ILeak
{
    private const int ResponseChars = 200;
    private readonly Dictionary<string, string> _responses = new();

    public long Grow(long bytes)
    {
        // A key of ~20 characters and a 200-character response: some 500 bytes with the entry.
        var count = bytes / 500;
        for (var i = 0; i < count; i++) Store(_responses.Count);
        return bytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Store(int request) => _responses["/api/items/" + request] = new string((char)('a' + request % 26), ResponseChars);

    public void Release() => _responses.Clear();
}
