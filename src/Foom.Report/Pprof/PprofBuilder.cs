using Foom.Report.Model;
using Foom.Report.Pprof.Proto;
using Foom.Report.Views;
using ProtoValueType = Foom.Report.Pprof.Proto.ValueType;

namespace Foom.Report.Pprof;

/// <summary>
/// Turns reports into one profile.proto message. Each listed stack is a sample whose locations
/// are its frames, innermost first, under the category as leaf pseudo-frame (as the collapsed and
/// speedscope views have it); a category's bytes in stacks the report does not list are one
/// sample under "[stacks not listed]", so that inuse_space adds up to the report's live bytes. A
/// .NET census's types come under "[managed heap]". Every sample carries the category, the heap
/// and the run's app, verdict, limit and footprint as labels; the head's facts are the comments.
/// </summary>
internal sealed class PprofBuilder
{
    public const string FramesCutRoot = "[outer frames cut]";

    private readonly Profile _profile = new();
    private readonly PprofTables _tables;
    private readonly bool _allocationTypes;
    private readonly long _bytesUnit;

    /// <param name="allocationTypes">Add the sample types of sampled allocations (alloc_samples, alloc_space), which only .NET reports have.</param>
    public PprofBuilder(bool allocationTypes)
    {
        _tables = new PprofTables(_profile);
        _allocationTypes = allocationTypes;
        _bytesUnit = _tables.String("bytes");
        AddSampleType("inuse_objects", "count");
        AddSampleType("inuse_space", "bytes");
        if (allocationTypes)
        {
            AddSampleType("alloc_samples", "count");
            AddSampleType("alloc_space", "bytes");
        }
        _profile.DefaultSampleType = _tables.String("inuse_space");
    }

    /// <summary>Whether any of the reports has sampled managed allocations behind its stacks.</summary>
    public static bool HasAllocationSamples(params Model.Report[] reports) =>
        reports.Any(r => r.Items.Any(i => i.IsManaged && i.Stacks.Any(s => s.AllocationSamples is not null)));

    /// <summary>Adds a report's samples, their values multiplied by <paramref name="sign"/> (−1 for a diff's base), labelled with <paramref name="side"/> when given.</summary>
    public void Add(Model.Report report, int sign, string? side)
    {
        _tables.AddModules(report);
        var head = HeadLabels(report.Head, side);
        foreach (var item in report.Items)
        {
            var category = _tables.PseudoFrame(FoldedStacks.Leaf(item.Name));
            var itemLabels = new List<Label>(head)
            {
                StringLabel("category", item.Name),
                StringLabel("heap", item.IsManaged ? ReportItem.ManagedHeapName : "native"),
            };
            long listedBytes = 0, listedCount = 0;
            foreach (var stack in item.Stacks)
            {
                listedBytes += stack.Size;
                listedCount += stack.Count;
                var sample = NewSample(itemLabels, sign, stack.Count, stack.Size, stack.AllocationSamples ?? 0, stack.AllocatedBytes ?? 0);
                sample.LocationId.Add(category);
                foreach (var frame in stack.Frames) sample.LocationId.Add(_tables.Frame(frame));
                if (stack.FramesCut is > 0) sample.LocationId.Add(_tables.PseudoFrame(FramesCutRoot));
                if (item.IsManaged)
                {
                    sample.LocationId.Add(_tables.PseudoFrame(FoldedStacks.ManagedRoot));
                    // The census counted the type; the split over its stacks follows the sampled allocations.
                    if (stack.AllocationSamples is not null) sample.Label.Add(StringLabel("estimate", "shared out by allocation samples"));
                }
                if (stack.ResidentBytes is { } resident) sample.Label.Add(NumberLabel("resident_bytes", resident));
                if (!item.IsManaged && stack.SizeBound is { } sizeBound)
                {
                    // A sampled run's estimate, with its 95 % bounds.
                    sample.Label.Add(StringLabel("estimate", "sampled"));
                    sample.Label.Add(NumberLabel("size_bound", sizeBound));
                    sample.Label.Add(new Label { Key = _tables.String("count_bound"), Num = stack.CountBound ?? 0 });
                }
                _profile.Sample.Add(sample);
            }
            var restBytes = Math.Max(0, item.Size - listedBytes);
            var restCount = Math.Max(0, item.Count - listedCount);
            if (restBytes == 0 && restCount == 0) continue;
            var rest = NewSample(itemLabels, sign, restCount, restBytes, 0, 0);
            rest.LocationId.Add(category);
            rest.LocationId.Add(_tables.PseudoFrame(FoldedStacks.UnlistedRoot));
            if (item.IsManaged) rest.LocationId.Add(_tables.PseudoFrame(FoldedStacks.ManagedRoot));
            else if (item.SizeMeasure == ReportItem.LiveEstimateMeasure) rest.Label.Add(StringLabel("estimate", "sampled"));
            _profile.Sample.Add(rest);
        }
    }

    public void Comment(string line) => _profile.Comment.Add(_tables.String(line));

    public void Time(ReportHead head)
    {
        if (Milliseconds(head.ReportTime) is not { } reportTime) return;
        _profile.TimeNanos = reportTime * 1_000_000;
        if (Milliseconds(head.LaunchTime) is { } launchTime && launchTime <= reportTime)
            _profile.DurationNanos = (reportTime - launchTime) * 1_000_000;
    }

    // Matrix writes seconds where Foom writes milliseconds; no report is from before 1973.
    private static long? Milliseconds(long? time) =>
        time is > 0 and { } value ? (value < 100_000_000_000 ? value * 1000 : value) : null;

    public Profile Profile => _profile;

    private Sample NewSample(List<Label> labels, int sign, long count, long bytes, long allocationSamples, long allocatedBytes)
    {
        var sample = new Sample();
        sample.Value.Add(sign * count);
        sample.Value.Add(sign * bytes);
        if (_allocationTypes)
        {
            sample.Value.Add(sign * allocationSamples);
            sample.Value.Add(sign * allocatedBytes);
        }
        sample.Label.AddRange(labels);
        return sample;
    }

    private List<Label> HeadLabels(ReportHead head, string? side)
    {
        var labels = new List<Label>();
        if (side is not null) labels.Add(StringLabel("side", side));
        if (!string.IsNullOrEmpty(head.AppId)) labels.Add(StringLabel("app", head.AppId));
        if (!string.IsNullOrEmpty(head.AppVersion)) labels.Add(StringLabel("app_version", head.AppVersion));
        if (!string.IsNullOrEmpty(head.ExitReason)) labels.Add(StringLabel("exit_reason", head.ExitReason));
        if (head.LimitBytes is { } limit) labels.Add(NumberLabel("limit_bytes", limit));
        if (head.FootprintBytes is { } footprint) labels.Add(NumberLabel("footprint_bytes", footprint));
        return labels;
    }

    private Label StringLabel(string key, string value) => new() { Key = _tables.String(key), Str = _tables.String(value) };

    private Label NumberLabel(string key, long value) => new() { Key = _tables.String(key), Num = value, NumUnit = _bytesUnit };

    private void AddSampleType(string type, string unit) =>
        _profile.SampleType.Add(new ProtoValueType { Type = _tables.String(type), Unit = _tables.String(unit) });
}
