using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace InferenceGateway.Inference.TextGeneration;

/// <summary>
/// A decoder-only language model on ONNX Runtime, in the layout optimum exports for
/// <c>text-generation-with-past</c>: inputs <c>input_ids</c>, <c>attention_mask</c>, optionally
/// <c>position_ids</c>, and <c>past_key_values.{i}.key/value</c>; outputs <c>logits</c> and
/// <c>present.{i}.key/value</c>. Layers, KV heads and head size come from the session's input
/// metadata. The prompt runs in chunks of <see cref="GenerationSettings.PrefillChunkTokens"/>, the
/// first with an empty past; each later step feeds only the new token with the previous step's
/// presents as its past. Thread-safe: each generation has its own state.
/// </summary>
public sealed class TextGenerator : ILoadedModel
{
    public const string ModelFile = "model.onnx";
    public const string TokenizerFile = "tokenizer.json";
    public const int DefaultContextLength = 2048;

    private static readonly string[] EosNames = ["<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "</s>"];

    private readonly InferenceSession _session;
    private readonly string _inputIds;
    private readonly string _attentionMask;
    private readonly string? _positionIds;
    private readonly string[] _pastNames;
    private readonly string[] _presentNames;
    private readonly long _kvHeads;
    private readonly long _headDim;
    private readonly HashSet<int> _eos;
    private Tuple<int, int[]>? _notTokens; // the logits width, and the ids under it the tokenizer has no token for

    private TextGenerator(string name, InferenceSession session, ModelLoadInfo loadInfo, ByteLevelBpeTokenizer tokenizer, ChatTemplate template, int contextLength, HashSet<int> eos)
    {
        Name = name;
        _session = session;
        LoadInfo = loadInfo;
        Tokenizer = tokenizer;
        ChatTemplate = template;
        ContextLength = contextLength;
        _eos = eos;

        var inputs = session.InputMetadata;
        string Required(string input) => inputs.ContainsKey(input) ? input
            : throw new InvalidOperationException($"Model {name} has no {input} input (inputs: {string.Join(", ", inputs.Keys)}); export it with optimum's text-generation-with-past task.");
        _inputIds = Required("input_ids");
        _attentionMask = Required("attention_mask");
        _positionIds = inputs.ContainsKey("position_ids") ? "position_ids" : null;
        foreach (var (input, meta) in inputs)
        {
            if (input is not ("input_ids" or "attention_mask" or "position_ids") && !input.StartsWith("past_key_values.", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"Model {name} has an input this runtime does not feed: {input}.");
            }

            if (input is "input_ids" or "attention_mask" or "position_ids" && meta.ElementDataType != TensorElementType.Int64)
            {
                throw new InvalidOperationException($"Model {name}'s {input} is {meta.ElementDataType}; int64 is expected.");
            }
        }

        Layers = inputs.Keys.Count(k => k.StartsWith("past_key_values.", StringComparison.Ordinal) && k.EndsWith(".key", StringComparison.Ordinal));
        if (Layers == 0)
        {
            throw new InvalidOperationException($"Model {name} has no past_key_values inputs: export it with the text-generation-with-past task so it has a KV cache.");
        }

        _pastNames = new string[Layers * 2];
        _presentNames = new string[Layers * 2];
        var outputs = session.OutputMetadata;
        for (var layer = 0; layer < Layers; layer++)
        {
            for (var kind = 0; kind < 2; kind++)
            {
                var suffix = kind == 0 ? "key" : "value";
                var past = Required($"past_key_values.{layer}.{suffix}");
                var present = $"present.{layer}.{suffix}";
                if (!outputs.ContainsKey(present))
                {
                    throw new InvalidOperationException($"Model {name} has no {present} output (outputs: {string.Join(", ", outputs.Keys)}).");
                }

                var meta = inputs[past];
                if (meta.ElementDataType != TensorElementType.Float)
                {
                    throw new InvalidOperationException($"Model {name}'s {past} is {meta.ElementDataType}; only float32 KV caches are supported (export without --fp16).");
                }

                _pastNames[(layer * 2) + kind] = past;
                _presentNames[(layer * 2) + kind] = present;
            }
        }

        var dims = inputs[_pastNames[0]].Dimensions;
        _kvHeads = dims.Length == 4 ? dims[1] : -1;
        _headDim = dims.Length == 4 ? dims[3] : -1;
        if (_kvHeads <= 0 || _headDim <= 0)
        {
            throw new InvalidOperationException($"Model {name}'s {_pastNames[0]} has shape [{string.Join(", ", dims)}]; a fixed [batch, heads, past, head_dim] layout is expected.");
        }

        if (!outputs.TryGetValue("logits", out var logits))
        {
            throw new InvalidOperationException($"Model {name} has no logits output.");
        }

        VocabularySize = (int)logits.Dimensions[^1];
    }

    public string Name { get; }

    public ModelLoadInfo LoadInfo { get; }

    public ByteLevelBpeTokenizer Tokenizer { get; }

    public ChatTemplate ChatTemplate { get; }

    /// <summary>Most tokens the model sees at once, prompt and generated text together.</summary>
    public int ContextLength { get; }

    public int Layers { get; }

    public int KvHeads => (int)_kvHeads;

    public int HeadDim => (int)_headDim;

    /// <summary>The logits' last dimension (may be -1 when the export left it symbolic).</summary>
    public int VocabularySize { get; }

    /// <summary>The token ids that end generation.</summary>
    public IReadOnlyCollection<int> EosTokenIds => _eos;

    /// <summary>
    /// Loads the model folder <see cref="ModelOptions.Source"/> (or the folder of a <c>model.onnx</c>
    /// path): the session (through the optimised-model cache, like the embedder), the tokenizer, the
    /// chat template, the end-of-sequence tokens and the context length.
    /// </summary>
    public static TextGenerator Load(string name, ModelOptions model, InferenceOptions options, ExecutionProviderSelection provider)
    {
        var (directory, onnx) = Files(model.Source);
        var tokenizer = ByteLevelBpeTokenizer.Load(Path.Combine(directory, TokenizerFile));
        var template = ChatTemplate.Resolve(model.ChatTemplate, directory);
        var config = ReadJson(Path.Combine(directory, "config.json"));
        var generationConfig = ReadJson(Path.Combine(directory, "generation_config.json"));
        var eos = EosIds(generationConfig) ?? EosIds(config) ?? [.. EosNames.Select(tokenizer.TokenId).OfType<int>().Take(1)];
        if (eos.Count == 0)
        {
            throw new InvalidOperationException($"Model {name}: no end-of-sequence token (eos_token_id in generation_config.json or config.json, or a tokenizer token such as <|endoftext|>).");
        }

        var contextLength = model.ContextLength > 0 ? model.ContextLength
            : config is { } c && c.TryGetProperty("max_position_embeddings", out var max) && max.TryGetInt32(out var positions) && positions > 0 ? positions
            : DefaultContextLength;

        // One run at a time per generation (ModelThreading.For): auto intra-op threads are all the processors.
        var (session, info) = OnnxThreads.Create(() => OnnxSessions.Create(name, model with { Source = onnx }, options with { ConcurrentRuns = 1 }, provider, embedded: false));
        try
        {
            return new TextGenerator(name, session, info, tokenizer, template, contextLength, eos);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The model folder and its <c>model.onnx</c> for a <see cref="ModelOptions.Source"/> that names either.</summary>
    public static (string Directory, string Model) Files(string source) =>
        Directory.Exists(source) ? (source, Path.Combine(source, ModelFile)) : (Path.GetDirectoryName(Path.GetFullPath(source))!, source);

    /// <summary>
    /// The prompt's tokens: <paramref name="input"/>'s raw prompt as is (added tokens in it are
    /// tokens: a raw prompt is the caller's own template), or its messages through the chat template,
    /// where only the template's text is matched against added tokens and each message's content
    /// is encoded as plain text, so content cannot forge turns with <c>&lt;|im_end|&gt;</c>.
    /// </summary>
    public int[] PromptTokens(JobInput input, CancellationToken cancellationToken = default)
    {
        if (input.Prompt is { } prompt)
        {
            return Tokenizer.Encode(prompt, cancellationToken: cancellationToken);
        }

        var ids = new List<int>();
        foreach (var (text, content) in ChatTemplate.Parts(input.Messages ?? []))
        {
            ids.AddRange(Tokenizer.Encode(text, addedTokens: !content, cancellationToken));
        }

        return [.. ids];
    }

    /// <summary>
    /// Generates from <paramref name="prompt"/> until an end-of-sequence token, a stop sequence,
    /// <see cref="GenerationSettings.MaxNewTokens"/> or the context's end. <paramref name="onToken"/>
    /// hears each generated token's index and the text it releases (possibly empty: an unfinished
    /// character or a possible stop sequence is held back); the texts concatenated are the result's
    /// text exactly; <paramref name="onLogits"/> (tests) sees each step's last logits. Stops with <see cref="OperationCanceledException"/> (or ONNX Runtime's
    /// terminate error) when <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <exception cref="GenerationInputException">The prompt is empty or fills the context.</exception>
    public GenerationOutput Generate(
        IReadOnlyList<int> prompt,
        GenerationSettings settings,
        Action<int, string>? onToken = null,
        Action<float[]>? onLogits = null,
        CancellationToken cancellationToken = default)
    {
        if (prompt.Count == 0)
        {
            throw new GenerationInputException("invalid_input", "The prompt has no tokens.");
        }

        if (prompt.Count >= ContextLength)
        {
            throw new GenerationInputException("context_length_exceeded", $"The prompt has {prompt.Count} tokens; the model's context is {ContextLength}, so there is no room to generate.");
        }

        if (settings.MaxPromptTokens > 0 && prompt.Count > settings.MaxPromptTokens)
        {
            throw new GenerationInputException("context_length_exceeded", $"The prompt has {prompt.Count} tokens; this model takes at most {settings.MaxPromptTokens}.");
        }

        // The thread's CPU is the model's (OnnxThreads): the worker runs a generation on a thread of its own.
        using var thread = OnnxThreads.Rename(OnnxThreads.Generation);
        var chunk = settings.UseKvCache && settings.PrefillChunkTokens > 0 ? settings.PrefillChunkTokens : int.MaxValue;
        var sampler = new TokenSampler(settings.Temperature, settings.TopP, settings.TopK, settings.Seed);
        var text = new TextStream(settings.Stop);
        var sequence = new List<long>(Math.Min(prompt.Count + settings.MaxNewTokens, ContextLength));
        sequence.AddRange(prompt.Select(t => (long)t));
        var generated = new List<int>();
        string? finish = null;

        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(() => runOptions.Terminate = true);
        using var emptyPast = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [1, _kvHeads, 0, _headDim]);
        IDisposableReadOnlyCollection<OrtValue>? cache = null;
        var fed = 0; // tokens of the sequence the cache holds
        var names = new List<string> { _inputIds, _attentionMask };
        if (_positionIds is not null)
        {
            names.Add(_positionIds);
        }

        names.AddRange(_pastNames);
        string[] outputNames = ["logits", .. _presentNames];
        try
        {
            while (finish is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var start = settings.UseKvCache ? fed : 0;
                // The prompt goes in chunks through the cache, so no step's logits are wider than
                // [1, chunk, vocabulary] (a 30k-token prompt at once over a 152k vocabulary would be 18 GB).
                var count = Math.Min(sequence.Count - start, chunk);
                var ids = sequence.GetRange(start, count).ToArray();
                var mask = new long[start + count];
                Array.Fill(mask, 1L);
                var positions = new long[count];
                for (var i = 0; i < count; i++)
                {
                    positions[i] = start + i;
                }

                using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [1, count]);
                using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [1, mask.Length]);
                using var positionsValue = OrtValue.CreateTensorValueFromMemory(positions, [1, count]);
                var values = new List<OrtValue> { idsValue, maskValue };
                if (_positionIds is not null)
                {
                    values.Add(positionsValue);
                }

                for (var i = 0; i < _pastNames.Length; i++)
                {
                    values.Add(settings.UseKvCache && cache is not null ? cache[i + 1] : emptyPast);
                }

                var outputs = _session.Run(runOptions, names, values, outputNames);
                if (start + count < sequence.Count)
                {
                    // More prompt to prefill: only the cache matters, not these logits.
                    cache?.Dispose();
                    cache = outputs;
                    fed = start + count;
                    continue;
                }

                int next;
                try
                {
                    var logits = outputs[0].GetTensorDataAsSpan<float>();
                    var vocabulary = (int)outputs[0].GetTensorTypeAndShape().Shape[^1];
                    var last = logits.Slice((count - 1) * vocabulary, vocabulary).ToArray();
                    onLogits?.Invoke(last);
                    MaskNonTokens(last);
                    next = sampler.Next(last);
                }
                catch
                {
                    outputs.Dispose();
                    throw;
                }

                // This step's presents are the next step's past; the previous ones are done with.
                cache?.Dispose();
                cache = outputs;
                fed = sequence.Count;

                generated.Add(next);
                sequence.Add(next);
                string released;
                if (_eos.Contains(next))
                {
                    released = text.Finish();
                    finish = FinishReasons.Stop;
                }
                else
                {
                    released = text.Push(Tokenizer.TokenBytes(next));
                    if (text.Stopped)
                    {
                        finish = FinishReasons.Stop;
                    }
                    else if (generated.Count >= settings.MaxNewTokens || sequence.Count >= ContextLength)
                    {
                        released += text.Finish();
                        finish = FinishReasons.Length;
                    }
                }

                onToken?.Invoke(generated.Count - 1, released);
            }
        }
        finally
        {
            cache?.Dispose();
        }

        return new GenerationOutput(text.Text, finish, prompt.Count, generated);
    }

    /// <summary>
    /// Sets to -inf the logits of ids the tokenizer has no token for: ids at or past its vocabulary
    /// (exports pad the logits, e.g. Qwen2.5's 151,936 logits over about 151,665 tokens) and gaps
    /// in its ids. Neither greedy decoding nor sampling can then pick an id that has no text.
    /// </summary>
    private void MaskNonTokens(float[] logits)
    {
        var notTokens = _notTokens;
        if (notTokens is null || notTokens.Item1 != logits.Length)
        {
            notTokens = Tuple.Create(logits.Length, Enumerable.Range(0, logits.Length).Where(id => !Tokenizer.HasToken(id)).ToArray());
            _notTokens = notTokens;
        }

        foreach (var id in notTokens.Item2)
        {
            logits[id] = float.NegativeInfinity;
        }
    }

    public void Dispose()
    {
        _session.Dispose();
    }

    private static JsonElement? ReadJson(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.Clone();
    }

    private static HashSet<int>? EosIds(JsonElement? config)
    {
        if (config is not { ValueKind: JsonValueKind.Object } c || !c.TryGetProperty("eos_token_id", out var eos))
        {
            return null;
        }

        return eos.ValueKind switch
        {
            JsonValueKind.Number => [eos.GetInt32()],
            JsonValueKind.Array => [.. eos.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => e.GetInt32())],
            _ => null,
        };
    }
}
