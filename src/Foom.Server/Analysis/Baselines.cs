using System.Collections.Concurrent;

namespace Foom.Server.Analysis;

/// <summary>Robust statistics of one category's size or count across the reports of one app version.</summary>
public readonly record struct RobustStats(int Reports, double Median, double Mad, double P99)
{
    /// <summary>The MAD scaled to estimate a standard deviation of normal data.</summary>
    public double Sigma => 1.4826 * Mad;

    public static RobustStats Of(long[] values)
    {
        if (values.Length == 0) return new RobustStats(0, 0, 0, 0);
        Array.Sort(values);
        var median = MedianOf(values);
        var deviations = new double[values.Length];
        for (var i = 0; i < values.Length; i++) deviations[i] = Math.Abs(values[i] - median);
        Array.Sort(deviations);
        var mad = MedianOf(deviations);
        var p99 = values[Math.Min(values.Length - 1, (int)Math.Ceiling(0.99 * values.Length) - 1)];
        return new RobustStats(values.Length, median, mad, p99);
    }

    private static double MedianOf(long[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + (double)sorted[sorted.Length / 2]) / 2;

    private static double MedianOf(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

/// <summary>A category's size and count in one report.</summary>
public readonly record struct CategoryAmount(string Name, long Size, long Count);

/// <summary>
/// The baseline of each app version: for every category, the sizes and counts it had in the
/// last <see cref="Window"/> reports of that version (a report without the category counts as
/// zero). Kept in memory, filled from the database on first use after a start, and
/// recomputed in one pass when enough new reports arrived, so that judging a report costs a
/// dictionary look-up per category rather than a sort.
/// </summary>
public sealed class BaselineCache(Func<string, string, IEnumerable<CategoryAmount[]>> loadFromDatabase)
{
    public const int Window = 2000;

    private readonly ConcurrentDictionary<(string App, string Version), VersionBaseline> _versions = new();

    public VersionBaseline For(string app, string version) =>
        _versions.GetOrAdd((app, version), key => new VersionBaseline(loadFromDatabase(key.App, key.Version)));

    /// <summary>Forgets everything (after a re-analysis rebuilds the tables).</summary>
    public void Clear() => _versions.Clear();

    public sealed class VersionBaseline
    {
        private readonly Lock _lock = new();
        private readonly Queue<CategoryAmount[]> _reports = new();
        private int _addedSinceCompute;
        private Snapshot _snapshot = Snapshot.Empty;

        public VersionBaseline(IEnumerable<CategoryAmount[]> reportsOldestFirst)
        {
            foreach (var report in reportsOldestFirst) Enqueue(report);
            _snapshot = Compute();
        }

        /// <summary>The statistics as of the last recompute; never blocks on a writer for long.</summary>
        public Snapshot Current
        {
            get
            {
                lock (_lock)
                {
                    // Recompute after 10 % growth (at least 10 reports): early versions settle fast,
                    // and a full window (2000 reports) costs one pass per 200 new reports, not per 100.
                    if (_addedSinceCompute >= Math.Max(10, _reports.Count / 10))
                    {
                        _snapshot = Compute();
                        _addedSinceCompute = 0;
                    }
                    return _snapshot;
                }
            }
        }

        public void Add(CategoryAmount[] report)
        {
            lock (_lock)
            {
                Enqueue(report);
                _addedSinceCompute++;
            }
        }

        private void Enqueue(CategoryAmount[] report)
        {
            _reports.Enqueue(report);
            while (_reports.Count > Window) _reports.Dequeue();
        }

        private Snapshot Compute()
        {
            var n = _reports.Count;
            var sizes = new Dictionary<string, List<long>>(StringComparer.Ordinal);
            var counts = new Dictionary<string, List<long>>(StringComparer.Ordinal);
            foreach (var report in _reports)
                foreach (var amount in report)
                {
                    if (!sizes.TryGetValue(amount.Name, out var sizeList))
                    {
                        sizes[amount.Name] = sizeList = [];
                        counts[amount.Name] = [];
                    }
                    sizeList.Add(amount.Size);
                    counts[amount.Name].Add(amount.Count);
                }
            var stats = new Dictionary<string, (RobustStats Size, RobustStats Count)>(sizes.Count, StringComparer.Ordinal);
            foreach (var (name, sizeList) in sizes)
                stats[name] = (RobustStats.Of(PadWithZeros(sizeList, n)), RobustStats.Of(PadWithZeros(counts[name], n)));
            return new Snapshot(n, stats);
        }

        private static long[] PadWithZeros(List<long> values, int n)
        {
            var all = new long[Math.Max(n, values.Count)];
            values.CopyTo(all);
            return all;
        }
    }

    public sealed record Snapshot(int Reports, IReadOnlyDictionary<string, (RobustStats Size, RobustStats Count)> Categories)
    {
        public static Snapshot Empty { get; } = new(0, new Dictionary<string, (RobustStats, RobustStats)>());
    }
}
