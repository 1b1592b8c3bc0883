using Foom.Storage.Managed;
using Microsoft.Diagnostics.Runtime;

namespace Foom.Managed;

/// <summary>
/// What keeps an object alive in a dump: a breadth-first walk of the references from the GC
/// roots, static fields first (named "Type.field": on .NET 9+ statics sit in one pinned object
/// array, so the root alone would not name them), then the runtime's handles, then locals
/// (named by their method, outermost frame first), until each wanted object is reached; the path
/// is the shortest chain from the first of those roots that reaches it, with each field named.
/// </summary>
internal static class RootPathFinder
{
    /// <summary>
    /// Objects visited at most: each costs the walk some 30 bytes of foom run's own memory (its
    /// parent in a dictionary), so the walk stays under about 150 MiB whatever the heap.
    /// </summary>
    private const int MaxVisited = 5_000_000;

    public static List<ManagedRootPath> Find(ClrRuntime runtime, IReadOnlyList<(string Type, ulong Object)> wanted, List<string> problems)
    {
        var heap = runtime.Heap;
        var remaining = wanted.Where(w => w.Object != 0).GroupBy(w => w.Object).ToDictionary(g => g.Key, g => g.First().Type);
        var parents = new Dictionary<ulong, ulong>();
        var seeds = new Dictionary<ulong, Seed>();
        var queue = new Queue<ulong>();
        var found = new Dictionary<ulong, ulong>();

        void Visit(ulong address)
        {
            if (remaining.Remove(address)) found[address] = address;
        }

        // One group of roots at a time, each walked to the end before the next is seeded, so an
        // object is credited to the longest-lived root that reaches it: statics, then handles,
        // then locals from the outermost frame inward (Main's local that holds a cache, not the
        // List method that was resizing it when the program died).
        foreach (var group in SeedGroups(runtime))
        {
            foreach (var (address, seed) in group)
            {
                if (address == 0 || parents.ContainsKey(address)) continue;
                seeds[address] = seed;
                parents[address] = 0;
                queue.Enqueue(address);
                Visit(address);
            }
            while (queue.Count > 0 && remaining.Count > 0 && parents.Count < MaxVisited)
            {
                var obj = heap.GetObject(queue.Dequeue());
                if (!obj.IsValid) continue;
                foreach (var reference in obj.EnumerateReferences(carefully: true, considerDependantHandles: true))
                {
                    if (!reference.IsValid || parents.ContainsKey(reference.Address)) continue;
                    parents[reference.Address] = obj.Address;
                    queue.Enqueue(reference.Address);
                    Visit(reference.Address);
                }
            }
            if (remaining.Count == 0 || parents.Count >= MaxVisited) break;
        }
        foreach (var (address, type) in remaining)
            problems.Add(parents.Count >= MaxVisited
                ? $"no root path for {type}: not reached within {MaxVisited} objects"
                : $"no root path for {type}: no GC root reaches the object looked at (it was garbage awaiting collection)");

        var paths = new List<ManagedRootPath>();
        foreach (var (type, address) in wanted)
        {
            if (!found.ContainsKey(address)) continue;
            var chain = new List<ulong>();
            for (var at = address; at != 0; at = parents[at]) chain.Add(at);
            chain.Reverse();
            var seed = seeds[chain[0]];
            var path = new ManagedRootPath { Type = type, RootKind = seed.Kind, Root = seed.Name };
            for (var i = 0; i < chain.Count; i++)
            {
                var obj = heap.GetObject(chain[i]);
                path.Steps.Add(new ManagedRootStep { Type = obj.Type?.Name ?? "?", Via = i == 0 ? null : Via(heap.GetObject(chain[i - 1]), chain[i]) });
            }
            paths.Add(path);
        }
        return paths;
    }

    /// <summary>
    /// The roots in the order they are walked: static fields (named), the runtime's handles and
    /// other roots, then each thread's locals by frame, outermost first (named by their method).
    /// </summary>
    private static IEnumerable<IEnumerable<(ulong Address, Seed Seed)>> SeedGroups(ClrRuntime runtime)
    {
        yield return Statics(runtime);
        yield return runtime.Heap.EnumerateRoots()
            .Where(root => root.Object.IsValid && root.RootKind != ClrRootKind.Stack)
            .Select(root => (root.Object.Address, new Seed(KindName(root.RootKind), null)));
        // Stack roots through their threads, which know the frame holding each (the heap's root
        // list does not say, and a root kept in a register has no stack slot to look it up by).
        foreach (var thread in runtime.Threads)
        {
            var frames = thread.EnumerateStackRoots()
                .Where(root => root.Object.IsValid)
                .GroupBy(root => root.StackFrame?.StackPointer ?? 0)
                .OrderByDescending(frame => frame.Key);
            foreach (var frame in frames)
            {
                var method = frame.First().StackFrame?.Method;
                var name = method is null ? $"a local on thread {thread.ManagedThreadId}" : $"a local of {method.Signature ?? method.Name} (thread {thread.ManagedThreadId})";
                yield return frame.Select(root => (root.Object.Address, new Seed("stack", name))).ToList();
            }
        }
    }

    private static IEnumerable<(ulong Address, Seed Seed)> Statics(ClrRuntime runtime)
    {
        foreach (var module in runtime.EnumerateModules())
        {
            foreach (var type in module.EnumerateTypesWithStaticFields())
            {
                foreach (var field in type.StaticFields)
                {
                    if (!field.IsObjectReference) continue;
                    foreach (var domain in runtime.AppDomains)
                    {
                        var value = field.ReadObject(domain);
                        if (value.IsValid) yield return (value.Address, new Seed("static", $"{type.Name}.{FieldName(field.Name)}"));
                    }
                }
            }
        }
    }

    /// <summary>How <paramref name="from"/> refers to <paramref name="to"/>: its field's name, "[]" for an array element (".field" of a struct element).</summary>
    private static string Via(ClrObject from, ulong to)
    {
        foreach (var reference in from.EnumerateReferencesWithFields(carefully: true, considerDependantHandles: true))
        {
            if (reference.Object.Address != to) continue;
            if (reference.IsDependentHandle) return "(dependent handle)";
            var inner = reference.InnerField?.Field?.Name is { } innerName ? "." + FieldName(innerName) : "";
            if (reference.IsArrayElement) return "[]" + inner;
            return (reference.Field?.Name is { } name ? FieldName(name) : "?") + inner;
        }
        return "?";
    }

    /// <summary>An auto-property's backing field reads as the property ("&lt;Orders&gt;k__BackingField" → "Orders").</summary>
    private static string FieldName(string? name)
    {
        if (name is null) return "?";
        return name.StartsWith('<') && name.IndexOf(">k__BackingField", StringComparison.Ordinal) is > 1 and var end ? name[1..end] : name;
    }

    private static string KindName(ClrRootKind kind) => kind switch
    {
        ClrRootKind.Stack => "stack",
        ClrRootKind.StaticVar => "static",
        ClrRootKind.ThreadStaticVar => "thread_static",
        ClrRootKind.StrongHandle => "strong_handle",
        ClrRootKind.PinnedHandle or ClrRootKind.AsyncPinnedHandle => "pinned_handle",
        ClrRootKind.FinalizerQueue => "finalizer_queue",
        ClrRootKind.RefCountedHandle => "ref_counted_handle",
        ClrRootKind.SizedRefHandle => "sized_ref_handle",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>Where a walk starts: its kind, and its name when known (a static field, the method holding a local).</summary>
    private sealed record Seed(string Kind, string? Name);
}
