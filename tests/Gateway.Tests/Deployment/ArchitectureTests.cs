using System.Text.RegularExpressions;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Deployment;

/// <summary>
/// The gateway's feature folders depend on each other one way, as <c>docs/architecture.md</c> draws
/// them: the folder graph is read from the sources (a file in folder A names
/// <c>InferenceGateway.Gateway.B</c>, in a using or a qualified name, or <c>B.SomeTypeOfB</c>), and
/// must have no cycle and be exactly the graph in the document's parsed block.
/// </summary>
[TestFixture]
public sealed partial class ArchitectureTests
{
    private const string DocMarker = "<!-- gateway-folders:";
    private const string ProjectsMarker = "<!-- projects:";

    [Test]
    public void GatewayFolders_DependOnEachOtherWithoutCycles()
    {
        var graph = FolderGraph.Read(Path.Combine(RepoPaths.Root, "gateway"));

        Assert.That(graph.Keys, Is.SupersetOf(new[] { "Jobs", "Chat", "Auth", "Problems" }), "the gateway's feature folders were found");
        Assert.That(FindCycle(graph), Is.Null, "a cycle between gateway feature folders");
    }

    /// <summary>
    /// The host's JSON context lists types of many features, so a feature that named it would depend on
    /// all of them through the root; features get it through <c>JsonOptions</c> or have their own.
    /// </summary>
    [Test]
    public void GatewayFolders_NeverNameTheHostsJsonContext()
    {
        var naming = Directory.GetDirectories(Path.Combine(RepoPaths.Root, "gateway"))
            .Where(dir => Path.GetFileName(dir) is not ("bin" or "obj"))
            .SelectMany(dir => Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
            .Where(file => File.ReadAllText(file).Contains("GatewayJsonContext", StringComparison.Ordinal))
            .Select(file => Path.GetRelativePath(RepoPaths.Root, file));

        Assert.That(naming, Is.Empty);
    }

    [Test]
    public void GatewayFolderGraph_IsTheOneDrawnInArchitectureDoc()
    {
        var code = FolderGraph.Read(Path.Combine(RepoPaths.Root, "gateway"));
        var drawn = ReadDrawnGraph(Path.Combine(RepoPaths.Root, "docs", "architecture.md"));

        Assert.Multiple(() =>
        {
            foreach (var folder in code.Keys.Where(f => !drawn.ContainsKey(f)))
            {
                Assert.Fail($"gateway/{folder} is not drawn in docs/architecture.md");
            }

            foreach (var (from, to) in Edges(code).Except(Edges(drawn)))
            {
                Assert.Fail($"{from} -> {to} is in the code but not drawn in docs/architecture.md (break the dependency, or draw it if it points the right way)");
            }

            foreach (var (from, to) in Edges(drawn).Except(Edges(code)))
            {
                Assert.Fail($"{from} -> {to} is drawn in docs/architecture.md but the code has no such dependency any more");
            }
        });
    }

    [Test]
    public void ProjectReferences_AreTheOnesDrawnInArchitectureDoc_WithoutCycles()
    {
        var code = ProjectGraph.Read(RepoPaths.Root);
        var drawn = ReadDrawnGraph(Path.Combine(RepoPaths.Root, "docs", "architecture.md"), ProjectsMarker);

        Assert.That(code.Keys, Is.SupersetOf(new[] { "gateway", "inference-worker", "tests/Testing", "bench/LoadTest" }), "the projects were found");
        Assert.That(FindCycle(code), Is.Null, "a cycle between projects");
        Assert.Multiple(() =>
        {
            foreach (var project in code.Keys.Where(p => !drawn.ContainsKey(p)))
            {
                Assert.Fail($"{project} is not drawn in docs/architecture.md's projects block");
            }

            foreach (var (from, to) in Edges(code).Except(Edges(drawn)))
            {
                Assert.Fail($"{from} -> {to} is referenced but not drawn in docs/architecture.md");
            }

            foreach (var (from, to) in Edges(drawn).Except(Edges(code)))
            {
                Assert.Fail($"{from} -> {to} is drawn in docs/architecture.md but no such project reference exists");
            }
        });
    }

    /// <summary>The reading of the sources catches each way a folder can name another, and only those.</summary>
    [Test]
    public void FolderGraph_CountsUsingsQualifiedNamesAndFolderQualifiedTypes_NotComments()
    {
        var graph = FolderGraph.Build(new Dictionary<string, IReadOnlyList<string>>
        {
            ["Jobs"] = ["namespace InferenceGateway.Gateway.Jobs;\npublic sealed class JobsApi { }\n// InferenceGateway.Gateway.Chat is only mentioned\n"],
            ["Chat"] = ["using InferenceGateway.Gateway.Jobs;\nnamespace InferenceGateway.Gateway.Chat;\npublic sealed class ChatOptions { }"],
            ["Hubs"] = ["namespace InferenceGateway.Gateway.Hubs;\nclass A { bool B(string id) => Jobs.JobsApi.IsJobId(id); }"],
            ["Edge"] = ["namespace InferenceGateway.Gateway.Edge;\nclass E { object O => typeof(global::InferenceGateway.Gateway.Chat.ChatOptions); string Url => \"https://x\"; }"],
            ["Usage"] = ["namespace InferenceGateway.Gateway.Usage;\nclass U { int T(Contracts.TokenUsage u) => u.Chat.Length; }"],
        });

        Assert.That(Edges(graph), Is.EquivalentTo(new[] { ("Chat", "Jobs"), ("Hubs", "Jobs"), ("Edge", "Chat") }));
        Assert.That(FindCycle(graph), Is.Null);

        graph["Jobs"].Add("Hubs");
        Assert.That(FindCycle(graph), Is.EqualTo("Hubs -> Jobs -> Hubs").Or.EqualTo("Jobs -> Hubs -> Jobs"));
    }

    private static IEnumerable<(string From, string To)> Edges(Dictionary<string, HashSet<string>> graph) =>
        graph.SelectMany(node => node.Value.Select(to => (node.Key, to)));

    /// <summary>A cycle as <c>A -> B -> A</c>, or null when the graph has none.</summary>
    private static string? FindCycle(Dictionary<string, HashSet<string>> graph)
    {
        var explored = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();

        string? Visit(string node)
        {
            var at = path.IndexOf(node);
            if (at >= 0)
            {
                return string.Join(" -> ", path.Skip(at).Append(node));
            }

            if (explored.Contains(node))
            {
                return null;
            }

            path.Add(node);
            foreach (var next in (graph.GetValueOrDefault(node) ?? []).Order(StringComparer.Ordinal))
            {
                if (Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }

            path.RemoveAt(path.Count - 1);
            explored.Add(node);
            return null;
        }

        return graph.Keys.Order(StringComparer.Ordinal).Select(Visit).FirstOrDefault(cycle => cycle is not null);
    }

    /// <summary>The <c>A -> B, C</c> lines of the fenced block after the marker comment.</summary>
    private static Dictionary<string, HashSet<string>> ReadDrawnGraph(string path, string docMarker = DocMarker)
    {
        var lines = File.ReadAllLines(path);
        var marker = Array.FindIndex(lines, l => l.Contains(docMarker, StringComparison.Ordinal));
        Assert.That(marker, Is.GreaterThanOrEqualTo(0), $"docs/architecture.md has the marker '{docMarker}'");
        var open = Array.FindIndex(lines, marker, l => l.StartsWith("```", StringComparison.Ordinal));
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        for (var i = open + 1; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++)
        {
            var match = DrawnEdges().Match(lines[i]);
            Assert.That(match.Success, $"docs/architecture.md line {i + 1} reads 'Folder -> Other, Another': {lines[i]}");
            graph[match.Groups[1].Value] = [.. match.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }

        Assert.That(graph, Is.Not.Empty, "the drawn gateway graph was found");
        return graph;
    }

    [GeneratedRegex(@"^\s*([\w./-]+)\s*->\s*([\w\s,./-]*)$")]
    private static partial Regex DrawnEdges();

    /// <summary>Which project references which, read from every <c>.csproj</c> of the repository (by folder, relative to the root).</summary>
    internal static partial class ProjectGraph
    {
        public static Dictionary<string, HashSet<string>> Read(string root)
        {
            var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var project in Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(root, project).Replace(Path.DirectorySeparatorChar, '/');
                if (relative.Contains("node_modules/", StringComparison.Ordinal) || relative.StartsWith('.'))
                {
                    continue;
                }

                var dir = Path.GetDirectoryName(project)!;
                graph[Path.GetDirectoryName(relative)!.Replace(Path.DirectorySeparatorChar, '/')] = [.. ProjectReference().Matches(File.ReadAllText(project))
                    .Select(m => Path.GetRelativePath(root, Path.GetDirectoryName(Path.GetFullPath(Path.Combine(dir, m.Groups[1].Value.Replace('\\', '/'))))!).Replace(Path.DirectorySeparatorChar, '/'))];
            }

            return graph;
        }

        [GeneratedRegex(@"<ProjectReference\s+Include=""([^""]+)""")]
        private static partial Regex ProjectReference();
    }

    /// <summary>Which gateway feature folder names which, read from the sources.</summary>
    internal static partial class FolderGraph
    {
        public static Dictionary<string, HashSet<string>> Read(string gatewayDir)
        {
            var sources = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var dir in Directory.GetDirectories(gatewayDir))
            {
                var name = Path.GetFileName(dir);
                if (name is "bin" or "obj")
                {
                    continue;
                }

                sources[name] = [.. Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
                    .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                    .Select(File.ReadAllText)];
            }

            return Build(sources);
        }

        public static Dictionary<string, HashSet<string>> Build(IReadOnlyDictionary<string, IReadOnlyList<string>> sources)
        {
            // Plain comments say nothing about dependencies; doc comments' crefs are compiled, so they count.
            var code = sources.ToDictionary(s => s.Key, s => s.Value.Select(text => LineComment().Replace(text, string.Empty)).ToList(), StringComparer.Ordinal);
            var types = code.ToDictionary(
                s => s.Key,
                s => s.Value.SelectMany(text => TypeDeclaration().Matches(text).Select(m => m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal),
                StringComparer.Ordinal);
            var qualified = types.Where(t => t.Value.Count > 0).ToDictionary(
                t => t.Key,
                t => new Regex($@"(?<![\w.]){t.Key}\.(?:{string.Join('|', t.Value)})\b", RegexOptions.CultureInvariant),
                StringComparer.Ordinal);
            var graph = code.Keys.ToDictionary(f => f, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
            foreach (var (folder, texts) in code)
            {
                foreach (var text in texts)
                {
                    foreach (Match named in NamespaceReference().Matches(text))
                    {
                        graph[folder].Add(named.Groups[1].Value);
                    }

                    foreach (var (other, typeOfOther) in qualified)
                    {
                        if (typeOfOther.IsMatch(text))
                        {
                            graph[folder].Add(other);
                        }
                    }
                }

                graph[folder].Remove(folder);
                graph[folder].IntersectWith(code.Keys);
            }

            return graph;
        }

        [GeneratedRegex(@"InferenceGateway\.Gateway\.(\w+)")]
        private static partial Regex NamespaceReference();

        [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(\w+)")]
        private static partial Regex TypeDeclaration();

        [GeneratedRegex(@"(?m)(?:^|(?<=\s))//(?!/).*$")]
        private static partial Regex LineComment();
    }
}
