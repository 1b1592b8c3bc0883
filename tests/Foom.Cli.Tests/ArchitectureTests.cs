using System.Text.RegularExpressions;
using System.Xml.Linq;
using Foom.Testing;

namespace Foom.Cli.Tests;

/// <summary>
/// docs/architecture.md's table of stages against the project files: every project under src/ is
/// in the table, references exactly the projects its row names, and only projects listed above
/// it (the stages before it on the data path), so the map a newcomer reads stays true.
/// </summary>
public sealed partial class ArchitectureTests
{
    private sealed record Stage(string Project, int Row, IReadOnlySet<string> References);

    private static string Repository => NativeFoom.Repository;

    [Fact]
    public void EverySourceProjectIsAStageOfTheMap()
    {
        var onDisk = Directory.GetDirectories(Path.Combine(Repository, "src"))
            .Where(d => File.Exists(Path.Combine(d, Path.GetFileName(d) + ".csproj")))
            .Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(onDisk, MappedStages().Keys.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public void EachProjectReferencesWhatItsRowSaysAndOnlyStagesBeforeIt()
    {
        var stages = MappedStages();
        foreach (var stage in stages.Values)
        {
            var referenced = ProjectReferences(stage.Project);
            Assert.True(referenced.SetEquals(stage.References),
                $"{stage.Project} references [{string.Join(", ", referenced.Order())}] but docs/architecture.md says [{string.Join(", ", stage.References.Order())}]");
            foreach (var reference in referenced)
            {
                Assert.True(stages.TryGetValue(reference, out var target) && target.Row < stage.Row,
                    $"{stage.Project} references {reference}, which is not a stage listed above it in docs/architecture.md");
            }
        }
    }

    /// <summary>The rows `| `src/Foom.X/` | stage | references | ... |` of the map, in order.</summary>
    private static Dictionary<string, Stage> MappedStages()
    {
        var stages = new Dictionary<string, Stage>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(Repository, "docs", "architecture.md")))
        {
            var row = StageRow().Match(line);
            if (!row.Success) continue;
            var references = row.Groups["references"].Value.Trim() == "—"
                ? new HashSet<string>(StringComparer.Ordinal)
                : row.Groups["references"].Value.Split(',', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
            var project = row.Groups["project"].Value;
            Assert.True(stages.TryAdd(project, new Stage(project, stages.Count, references)), $"{project} has two rows in docs/architecture.md");
        }
        Assert.NotEmpty(stages);
        return stages;
    }

    private static HashSet<string> ProjectReferences(string project)
    {
        var file = Path.Combine(Repository, "src", project, project + ".csproj");
        return XDocument.Load(file).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")?.Value ?? throw new InvalidDataException($"{file}: a ProjectReference without Include")))
            .ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^\| `src/(?<project>Foom\.[A-Za-z]+)/` \| [^|]+ \| (?<references>[^|]+) \|")]
    private static partial Regex StageRow();
}
