using InferenceGateway.Inference;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using InferenceGateway.Inference.TextGeneration;
using InferenceGateway.Tools.TinyModels;

namespace InferenceGateway.Tests.TextGeneration;

/// <summary>The tiny generated model, written once per test run into a temp folder, and generators over it.</summary>
public static class TinyModel
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        var directory = Path.Combine(Path.GetTempPath(), $"tiny-llm-{Guid.NewGuid():N}");
        TinyModelWriter.Write(directory);
        return directory;
    });

    /// <summary>The folder with model.onnx, tokenizer.json, chat_template.json, generation_config.json, config.json.</summary>
    public static string Directory => Folder.Value;

    public static ModelOptions Options(string? directory = null, int contextLength = 0) => new()
    {
        Runtime = ModelRuntimes.TextGeneration,
        Source = directory ?? Directory,
        ContextLength = contextLength,
    };

    public static TextGenerator Load(string? directory = null, int contextLength = 0) =>
        TextGenerator.Load(TinyModelWriter.ModelName, Options(directory, contextLength), new InferenceOptions { ModelCacheDirectory = string.Empty, IntraOpThreads = 1 }, ExecutionProviderSelection.Cpu);

    public static void DeleteIfWritten()
    {
        if (Folder.IsValueCreated && System.IO.Directory.Exists(Folder.Value))
        {
            System.IO.Directory.Delete(Folder.Value, recursive: true);
        }
    }

    /// <summary>A copy of the model folder to change files in; delete it when done.</summary>
    public static string Copy()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"tiny-llm-copy-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(copy);
        foreach (var file in System.IO.Directory.GetFiles(Directory))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        return copy;
    }
}
