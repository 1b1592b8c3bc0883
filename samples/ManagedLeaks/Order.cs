namespace ManagedLeaks;

/// <summary>A small object, 48 bytes with its header: the list shape keeps millions of them.</summary>
public sealed class Order(long id, decimal price)
{
    public long Id { get; } = id;
    public decimal Price { get; } = price;
    public int Quantity { get; set; } = 1;
}
