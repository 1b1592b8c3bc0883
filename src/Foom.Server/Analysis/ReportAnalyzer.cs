using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Foom.Report.Callers;
using Foom.Report.Model;
using ReportDocument = Foom.Report.Model.Report;

namespace Foom.Server.Analysis;

/// <summary>A category that may have caused the death, with the rule that found it.</summary>
public sealed record Suspect(string Category, long Size, long Count, string ReasonKind, string Reason, double Severity);

/// <summary>
/// A report's eigenvalue (WeChat's monitor's feature): where the memory was asked for (Caller1), the
/// business frame or scene above it (Caller2), the category and why it is suspect.
/// </summary>
public sealed record Eigenvalue(string? Caller1, string? Caller1Key, string? Caller2, string Category, string ReasonKind, string Reason, double Severity, long SuspectSize)
{
    /// <summary>First-level class: Caller1, or the category when Caller1 is unknown.</summary>
    public string Level1Key => Caller1Key is { Length: > 0 } ? "caller:" + Caller1Key : "category:" + Category;

    /// <summary>Second-level class: the whole eigenvalue (the reason by its kind, not its figures).</summary>
    public string IssueKey => Hash($"{Level1Key}\n{Caller2}\n{Category}\n{ReasonKind}");

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
}

public sealed record AnalysisResult(IReadOnlyList<Suspect> Suspects, Eigenvalue Eigenvalue);

/// <summary>
/// Finds suspect categories and the eigenvalue of a report. Fixed rules follow WeChat's monitor (docs/design.md): an
/// abnormal count of views, view controllers or images; a category holding a large share of the
/// footprint; statistical rules compare each category's size and count with the same app
/// version's baseline, robustly (median and MAD, so a few huge reports do not hide the next).
/// The most severe suspect gives the eigenvalue; a report without suspects is classified by its
/// largest category, so every report lands in exactly one issue.
/// </summary>
public sealed class ReportAnalyzer(CallerRules callerRules)
{
    /// <summary>Bumped whenever the rules change, so stored results can be told from fresh ones.</summary>
    public const int Version = 3;

    public const double ShareThreshold = 0.30;
    public const long ShareMinimumBytes = 1 << 20;
    public const int MinimumBaselineReports = 20;
    public const double RobustSigmas = 6;

    /// <summary>
    /// UI-like kinds with the count from which WeChat's monitor's "is the number abnormal" fires, tried in
    /// order (the first that matches a category judges it). They read Objective-C class names and
    /// .NET type names alike (a .NET census names each type with its namespace): pages and windows
    /// of WPF, WinForms, MAUI and Avalonia; view models; .NET's image types (SkiaSharp, WPF's
    /// BitmapSource family, System.Drawing, ImageSharp); and every type of the UI frameworks'
    /// control namespaces as views. A .NET generic instantiation is judged by its definition
    /// (<c>MyApp.ItemViewModel`1[System.String]</c> is a view model), while collections and
    /// arrays of such types (<c>List`1[MyApp.ChatViewModel]</c>, <c>MyApp.ChatViewModel[]</c>)
    /// are not counted as them.
    /// </summary>
    public static readonly IReadOnlyList<(string Kind, Regex Pattern, long Threshold)> UiRules =
    [
        ("view controllers", new Regex(@"(ViewController|Controller)$", RegexOptions.CultureInvariant), 100),
        ("pages", new Regex(@"(Page|Window|Form|Activity|Fragment|Shell)$", RegexOptions.CultureInvariant), 100),
        ("view models", new Regex(@"(ViewModel|PageModel)$", RegexOptions.CultureInvariant), 2000),
        ("images", new Regex(@"(^UIImage$|^NSImage$|^CGImage|Image$|Bitmap$|^SK(Bitmap|Image)|^VM: (ImageIO|CG image|IOSurface)|(^|\.)(SKBitmap|SKImage|SKPicture|BitmapSource|BitmapFrame|ImageSource|DrawingImage|Icon)$)", RegexOptions.CultureInvariant), 500),
        ("views", new Regex(@"(View|Layer|Widget|Control)$|^(Avalonia\.Controls|System\.Windows\.Controls|System\.Windows\.Forms|System\.Windows\.Shapes|Microsoft\.Maui\.Controls|Xamarin\.Forms|Microsoft\.UI\.Xaml\.Controls|Windows\.UI\.Xaml\.Controls|Gtk)(\.Primitives)?\.[A-Za-z0-9_]+$", RegexOptions.CultureInvariant), 10_000),
    ];

    /// <summary>The name the UI rules judge: a .NET generic type by its definition ("Ns.Name`1[...]" → "Ns.Name"), anything else as it is.</summary>
    public static string UiRuleName(string category)
    {
        var tick = category.IndexOf('`');
        return tick > 0 && !category.EndsWith("[]", StringComparison.Ordinal) ? category[..tick] : category;
    }

    public AnalysisResult Analyze(ReportDocument report, BaselineCache.Snapshot baseline)
    {
        var head = report.Head;
        // A footprint below the live bytes is a reading taken before the last growth (a program
        // killed between two samples) or live bytes that were reserved, not resident: a share of
        // it would pass 100 %, so the live memory is the measure then.
        var live = Math.Max(head.LiveBytes, report.Items.Where(i => !i.IsManaged).Sum(i => i.Size));
        var footprint = head.FootprintBytes is { } reading && reading >= live ? reading : live;
        var footprintWord = head.FootprintBytes is { } read && read >= live ? "footprint" : "live memory";
        var suspects = new List<Suspect>();
        foreach (var item in report.Items)
        {
            if (footprint > 0 && item.Size >= ShareMinimumBytes)
            {
                var share = (double)item.Size / footprint;
                if (share >= ShareThreshold)
                    suspects.Add(new Suspect(item.Name, item.Size, item.Count, "share_of_footprint",
                        $"{Bytes(item.Size)}, {Percent(share)} of the {footprintWord}", share / ShareThreshold));
            }
            var uiName = UiRuleName(item.Name);
            foreach (var (kind, pattern, threshold) in UiRules)
            {
                if (!pattern.IsMatch(uiName)) continue;
                if (item.Count >= threshold)
                    suspects.Add(new Suspect(item.Name, item.Size, item.Count, "ui_object_count",
                        $"{item.Count.ToString("N0", CultureInfo.InvariantCulture)} objects; more than {threshold.ToString("N0", CultureInfo.InvariantCulture)} {kind} is abnormal",
                        (double)item.Count / threshold));
                break;
            }
            if (baseline.Reports >= MinimumBaselineReports && baseline.Categories.TryGetValue(item.Name, out var stats))
            {
                var sizeLimit = Math.Max(stats.Size.Median + RobustSigmas * stats.Size.Sigma, Math.Max(3 * stats.Size.Median, ShareMinimumBytes));
                if (item.Size > sizeLimit)
                    suspects.Add(new Suspect(item.Name, item.Size, item.Count, "size_above_baseline",
                        $"{Bytes(item.Size)}, median {Bytes((long)stats.Size.Median)} and p99 {Bytes((long)stats.Size.P99)} over {stats.Size.Reports} reports of this version",
                        item.Size / sizeLimit));
                var countLimit = Math.Max(stats.Count.Median + RobustSigmas * stats.Count.Sigma, Math.Max(3 * stats.Count.Median, 1000));
                if (item.Count > countLimit)
                    suspects.Add(new Suspect(item.Name, item.Size, item.Count, "count_above_baseline",
                        $"{item.Count.ToString("N0", CultureInfo.InvariantCulture)} objects, p99 is {stats.Count.P99.ToString("N0", CultureInfo.InvariantCulture)}",
                        item.Count / countLimit));
            }
        }
        suspects.Sort((a, b) => b.Severity != a.Severity ? b.Severity.CompareTo(a.Severity) : b.Size.CompareTo(a.Size));

        Suspect chosen;
        if (suspects.Count > 0) chosen = suspects[0];
        else
        {
            var largest = report.Items.OrderByDescending(i => i.Size).FirstOrDefault();
            chosen = largest is null
                ? new Suspect("(no categories)", 0, 0, "empty_report", "the report lists no categories", 0)
                : new Suspect(largest.Name, largest.Size, largest.Count, "largest_category",
                    footprint > 0 ? $"{Bytes(largest.Size)}, the largest category ({Percent((double)largest.Size / footprint)} of the {footprintWord})" : $"{Bytes(largest.Size)}, the largest category",
                    0);
        }
        if (CallerEigenvalue(report, chosen) is { } byCaller) return new AnalysisResult(suspects, byCaller);
        var item0 = report.Items.FirstOrDefault(i => i.Name == chosen.Category);
        var (caller1, caller1Key, caller2) = Callers(report, item0, byCount: chosen.ReasonKind is "ui_object_count" or "count_above_baseline");
        return new AnalysisResult(suspects, new Eigenvalue(caller1, caller1Key, caller2, chosen.Category, chosen.ReasonKind, chosen.Reason, chosen.Severity, chosen.Size));
    }

    /// <summary>
    /// The eigenvalue by the report's top caller (its caller view), when that caller holds more
    /// than the chosen category by size: one function whose blocks are spread over many size
    /// classes is the cause, not its largest size class. Count and UI rules judge categories and
    /// keep their eigenvalue.
    /// </summary>
    private static Eigenvalue? CallerEigenvalue(ReportDocument report, Suspect chosen)
    {
        if (chosen.ReasonKind is not ("share_of_footprint" or "largest_category" or "size_above_baseline")) return null;
        if (report.Callers is not { TotalBytes: > 0, BottomUp: [var top, ..] } callers || top.Caller.Length == 0 || top.Size <= chosen.Size) return null;
        var moduleNames = CallerRules.ModuleNames(report.Modules);
        var (display, key) = CallerRules.Describe(top.Frame(), moduleNames);
        var caller2 = top.CalledFrom is [{ Caller.Length: > 0 } outer, ..] ? CallerRules.Describe(outer.Frame(), moduleNames).Display
            : report.Head.Scene is { Length: > 0 } scene ? "scene: " + scene : null;
        var share = (double)top.Size / callers.TotalBytes;
        var reason = $"{top.Function ?? display} holds {Bytes(top.Size)}, {Percent(share)} of the live heap, in {top.Categories} "
                     + (top.Categories == 1 ? "category" : "categories");
        return new Eigenvalue(display, key, caller2, top.TopCategory ?? chosen.Category, "caller_share", reason, Math.Max(chosen.Severity, share / ShareThreshold), top.Size);
    }

    /// <summary>
    /// Caller1 and Caller2 from the category's top stack (by size, or by count for count rules).
    /// Caller1 skips allocator and runtime frames (<see cref="CallerRules"/>); when no frame can
    /// be judged (a Matrix stack of bare uuid@offset frames), the stack's own caller is taken, as
    /// Matrix chose it on the device. Caller2 is the first frame above Caller1 in the app's own
    /// modules, else the scene.
    /// </summary>
    private (string? Caller1, string? Caller1Key, string? Caller2) Callers(ReportDocument report, ReportItem? item, bool byCount)
    {
        var scene = item?.Scene is { Length: > 0 } ? item.Scene : report.Head.Scene;
        var sceneCaller = string.IsNullOrEmpty(scene) ? null : "scene: " + scene;
        var stack = item?.Stacks.Count > 0
            ? (byCount ? item.Stacks.MaxBy(s => s.Count) : item.Stacks.MaxBy(s => s.Size))
            : null;
        if (stack is null) return (null, null, sceneCaller);
        var moduleNames = CallerRules.ModuleNames(report.Modules);
        var frames = stack.Frames;
        int index;
        if (frames.Count == 0 || !CallerRules.HasEvidence(frames, moduleNames))
        {
            index = frames.Count == 0 ? -1 : frames.FindIndex(f => CallerRules.FormatCaller(f) == stack.Caller);
            if (index < 0)
            {
                if (string.IsNullOrEmpty(stack.Caller)) return (null, null, sceneCaller);
                return (stack.Caller, stack.Caller, AppFrameAbove(frames, -1, report, moduleNames, stack.Caller) ?? sceneCaller);
            }
        }
        else index = callerRules.FindCaller(frames, moduleNames);
        if (index < 0) return (null, null, sceneCaller);
        var frame = frames[index];
        var (display, key) = CallerRules.Describe(frame, moduleNames);
        return (display, key, AppFrameAbove(frames, index, report, moduleNames, key) ?? sceneCaller);
    }

    private static string? AppFrameAbove(List<ReportFrame> frames, int index, ReportDocument report, Func<string, string?> moduleNames, string caller1Key)
    {
        var appUuid = report.Head.AppUuid;
        var appModules = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (!string.IsNullOrEmpty(appUuid)) appModules.Add(appUuid);
        foreach (var module in report.Modules)
            if (!string.IsNullOrEmpty(module.Uuid) && IsAppPath(module.Path)) appModules.Add(module.Uuid);
        for (var i = index + 1; i < frames.Count; i++)
        {
            if (!appModules.Contains(frames[i].Uuid)) continue;
            var (display, key) = CallerRules.Describe(frames[i], moduleNames);
            if (key != caller1Key) return display;
        }
        return null;
    }

    // The app's own modules: the main binary (app_uuid) and whatever does not live in the
    // system's or a runtime's folders.
    private static bool IsAppPath(string? path) =>
        !string.IsNullOrEmpty(path)
        && !new[] { "/usr/lib", "/lib", "/usr/lib64", "/lib64", "/usr/share/dotnet", "/usr/local/lib", "/System/", "/usr/libexec", "/snap/", "/opt/dotnet", "/nix/store", "[", "linux-vdso" }
            .Any(prefix => path.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>A frame as shown ("function (module)") and as grouped (stable across reports of one build, or across builds once named).</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };

    private static string Percent(double share) => Math.Round(share * 100).ToString(CultureInfo.InvariantCulture) + " %";
}
