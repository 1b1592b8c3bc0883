namespace ManagedLeaks;

/// <summary>One way of leaking: each <see cref="Grow"/> keeps about the bytes asked for, forever.</summary>
public interface ILeak
{
    /// <summary>Keeps about <paramref name="bytes"/> more; returns what it kept.</summary>
    long Grow(long bytes);

    /// <summary>Lets go of everything kept (after a caught OutOfMemoryException).</summary>
    void Release();
}
