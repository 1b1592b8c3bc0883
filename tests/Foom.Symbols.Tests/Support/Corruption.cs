namespace Foom.Symbols.Tests.Support;

/// <summary>
/// Damages a real binary in many ways (truncated at many points, bytes flipped in its headers and
/// tables) and runs a reader over each damaged copy. The reader may succeed or throw a
/// <see cref="SymbolFileException"/> naming the damaged file; any other exception, or a reader
/// that does not finish, fails the test with the damage that caused it.
/// </summary>
public static class Corruption
{
    public static void Check(string original, Action<string> read, int flips = 800, int seed = 1)
    {
        var bytes = File.ReadAllBytes(original);
        var folder = Directory.CreateTempSubdirectory("foom-corrupt-");
        try
        {
            var work = Task.Run(() =>
            {
                var failures = new List<string>();
                var rejected = 0;
                var path = Path.Combine(folder.FullName, Path.GetFileName(original));
                foreach (var length in TruncationPoints(bytes.Length))
                {
                    File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
                    rejected += Try(path, read, $"truncated to {length} of {bytes.Length} bytes", failures);
                }
                var random = new Random(seed);
                for (var i = 0; i < flips; i++)
                {
                    var damaged = (byte[])bytes.Clone();
                    // Most damage goes to the first pages (headers, load commands, notes); some anywhere.
                    var hits = 1 + random.Next(4);
                    var description = new List<string>();
                    for (var h = 0; h < hits; h++)
                    {
                        var position = random.Next(3) == 0 ? random.Next(bytes.Length) : random.Next(Math.Min(bytes.Length, 8192));
                        var value = random.Next(3) switch { 0 => (byte)0xff, 1 => (byte)0, _ => (byte)random.Next(256) };
                        damaged[position] = value;
                        description.Add($"byte {position} = 0x{value:x2}");
                    }
                    File.WriteAllBytes(path, damaged);
                    rejected += Try(path, read, string.Join(", ", description), failures);
                }
                // The harness itself is honest only if the damage was noticed at least sometimes.
                if (rejected == 0) failures.Add("no damaged copy was rejected: the damage did not reach the reader");
                return failures;
            });
            Assert.True(work.Wait(TimeSpan.FromMinutes(3)), $"reading damaged copies of {original} did not finish: a reader hangs");
            Assert.True(work.Result.Count == 0, $"{work.Result.Count} damaged copies of {original} broke the reader:\n" + string.Join("\n", work.Result.Take(20)));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Returns 1 when the reader rejected the file with a proper error.</summary>
    private static int Try(string path, Action<string> read, string damage, List<string> failures)
    {
        try { read(path); return 0; }
        catch (SymbolFileException e)
        {
            if (e.FilePath != path || !e.Message.StartsWith(path, StringComparison.Ordinal) || e.Problem.Length == 0)
                failures.Add($"{damage}: the error does not name the file: {e.Message}");
            return 1;
        }
        catch (Exception e)
        {
            failures.Add($"{damage}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            return 0;
        }
    }

    private static IEnumerable<int> TruncationPoints(int length)
    {
        var points = new SortedSet<int>();
        for (var i = 0; i < Math.Min(length, 256); i++) points.Add(i);
        for (var i = 256; i < length; i += Math.Max(1, length / 300)) points.Add(i);
        for (var i = Math.Max(0, length - 64); i < length; i++) points.Add(i);
        return points;
    }
}
