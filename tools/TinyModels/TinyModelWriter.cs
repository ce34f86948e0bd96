using System.Text.Json;
using System.Text.Json.Nodes;
using InferenceGateway.Inference.TextGeneration;

namespace InferenceGateway.Tools.TinyModels;

/// <summary>
/// Writes a tiny decoder-only language model with random weights (fixed seed) in the layout
/// optimum exports for <c>text-generation-with-past</c>, so the whole text-generation path (and the
/// local stack's <c>tiny-llm</c>) runs without downloading a model: <c>model.onnx</c> (1 layer, 2
/// heads of 8, hidden 16, sinusoidal positions, inputs <c>input_ids</c>, <c>attention_mask</c>,
/// <c>position_ids</c>, <c>past_key_values.0.key/value</c>, outputs <c>logits</c>,
/// <c>present.0.key/value</c>, a causal mask from each query's absolute position combined with the
/// attention mask), a byte-level BPE <c>tokenizer.json</c> (the 256 bytes, 4 merges,
/// <c>&lt;|endoftext|&gt;</c>, <c>&lt;|im_start|&gt;</c>, <c>&lt;|im_end|&gt;</c>), a ChatML
/// <c>chat_template.json</c>, <c>generation_config.json</c> and <c>config.json</c>. Its text is
/// nonsense (printable ASCII is favoured so it reads as characters); it is for plumbing, tests and
/// benchmarks.
/// </summary>
public static class TinyModelWriter
{
    public const string ModelName = "tiny-llm";
    public const int Hidden = 16;
    public const int Heads = 2;
    public const int HeadDim = Hidden / Heads;
    public const int ContextLength = 2048;
    public const string EndOfText = "<|endoftext|>";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";

    private const int Mlp = 32;
    private static readonly (string Left, string Right)[] Merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n")];

    /// <summary>Tokens in the vocabulary: 256 bytes, the merges, 3 special tokens.</summary>
    public static int VocabularySize => 256 + Merges.Length + 3;

    /// <summary>Writes the model's files into <paramref name="directory"/> (created if missing), replacing any there.</summary>
    public static void Write(string directory, int seed = 20251128)
    {
        Directory.CreateDirectory(directory);
        var vocab = Vocabulary();
        File.WriteAllBytes(Path.Combine(directory, "model.onnx"), Model(seed, vocab));
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), Tokenizer(vocab));
        File.WriteAllText(Path.Combine(directory, "chat_template.json"), ChatTemplate.ChatMl.ToJson());
        var eos = new JsonArray(vocab[EndOfText], vocab[ImEnd]);
        File.WriteAllText(Path.Combine(directory, "generation_config.json"), new JsonObject { ["eos_token_id"] = eos }.ToJsonString());
        File.WriteAllText(Path.Combine(directory, "config.json"), new JsonObject
        {
            ["model_type"] = ModelName,
            ["num_hidden_layers"] = 1,
            ["num_attention_heads"] = Heads,
            ["hidden_size"] = Hidden,
            ["vocab_size"] = VocabularySize,
            ["max_position_embeddings"] = ContextLength,
        }.ToJsonString());
    }

    /// <summary>Writes the model into <paramref name="directory"/> unless its <c>model.onnx</c> is there already.</summary>
    public static bool EnsureWritten(string directory)
    {
        if (File.Exists(Path.Combine(directory, "model.onnx")) && File.Exists(Path.Combine(directory, "tokenizer.json")))
        {
            return false;
        }

        Write(directory);
        return true;
    }

    private static Dictionary<string, int> Vocabulary()
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var byteChars = ByteLevelBpeTokenizer.BytesToUnicode();
        for (var b = 0; b < 256; b++)
        {
            vocab[byteChars[b].ToString()] = b;
        }

        foreach (var (left, right) in Merges)
        {
            vocab[left + right] = vocab.Count;
        }

        vocab[EndOfText] = vocab.Count;
        vocab[ImStart] = vocab.Count;
        vocab[ImEnd] = vocab.Count;
        return vocab;
    }

    private static string Tokenizer(Dictionary<string, int> vocab)
    {
        var added = new JsonArray();
        foreach (var special in new[] { EndOfText, ImStart, ImEnd })
        {
            added.Add(new JsonObject
            {
                ["id"] = vocab[special],
                ["content"] = special,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            });
        }

        var vocabJson = new JsonObject();
        foreach (var (token, id) in vocab.Where(v => v.Value < 256 + Merges.Length).OrderBy(v => v.Value))
        {
            vocabJson[token] = id;
        }

        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel.DeepClone(),
            ["post_processor"] = null,
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = vocabJson,
                ["merges"] = new JsonArray([.. Merges.Select(m => (JsonNode)JsonValue.Create($"{m.Left} {m.Right}"))]),
            },
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static byte[] Model(int seed, Dictionary<string, int> vocab)
    {
        var random = new Random(seed);
        float[] Weights(int count, float scale) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2) - 1) * scale)];
        float[] Filled(int count, float value) => [.. Enumerable.Repeat(value, count)];

        var v = VocabularySize;
        var g = new OnnxGraphBuilder();
        g.Input("input_ids", OnnxGraphBuilder.Int64, "batch_size", "sequence_length");
        g.Input("attention_mask", OnnxGraphBuilder.Int64, "batch_size", "total_sequence_length");
        g.Input("position_ids", OnnxGraphBuilder.Int64, "batch_size", "sequence_length");
        g.Input("past_key_values.0.key", OnnxGraphBuilder.Float, "batch_size", Heads, "past_sequence_length", HeadDim);
        g.Input("past_key_values.0.value", OnnxGraphBuilder.Float, "batch_size", Heads, "past_sequence_length", HeadDim);
        g.Output("logits", OnnxGraphBuilder.Float, "batch_size", "sequence_length", v);
        g.Output("present.0.key", OnnxGraphBuilder.Float, "batch_size", Heads, "total_sequence_length", HeadDim);
        g.Output("present.0.value", OnnxGraphBuilder.Float, "batch_size", Heads, "total_sequence_length", HeadDim);

        // Constants.
        var wte = g.FloatTensor("wte", Weights(v * Hidden, 1f), v, Hidden);
        var invFreq = g.FloatTensor("inv_freq", [.. Enumerable.Range(0, Hidden / 2).Select(i => (float)Math.Pow(10000, -2.0 * i / Hidden))], Hidden / 2);
        var axes2 = g.Int64Tensor("axes_2", [2], 1);
        var axes13 = g.Int64Tensor("axes_1_3", [1, 3], 2);
        var axes12 = g.Int64Tensor("axes_1_2", [1, 2], 2);
        var shape4 = g.Int64Tensor("shape_heads", [0, 0, Heads, HeadDim], 4);
        var shape3 = g.Int64Tensor("shape_hidden", [0, 0, Hidden], 3);
        var one = g.Int64Tensor("one", [1]);
        var zero = g.Int64Tensor("zero", [0]);
        var zeroF = g.FloatTensor("zero_f", [0f]);
        var negF = g.FloatTensor("neg_f", [-1e9f]);
        var scale = g.FloatTensor("scale", [1f / MathF.Sqrt(HeadDim)]);
        string LayerNorm(string x, string name)
        {
            var gamma = g.FloatTensor($"{name}.weight", Filled(Hidden, 1f), Hidden);
            var beta = g.FloatTensor($"{name}.bias", Filled(Hidden, 0f), Hidden);
            return g.Node("LayerNormalization", [x, gamma, beta], $"{name}.out", ("axis", -1L), ("epsilon", 1e-5f));
        }

        string Linear(string x, string name, int rows, int cols, float weightScale) =>
            g.Node("MatMul", [x, g.FloatTensor($"{name}.weight", Weights(rows * cols, weightScale), rows, cols)], $"{name}.out");

        // Embeddings: token + sinusoidal position (so any position has one).
        var tokens = g.Node("Gather", [wte, "input_ids"], "tok_emb");
        var positions = g.Node("Cast", ["position_ids"], "pos_f", ("to", (long)OnnxGraphBuilder.Float));
        var angles = g.Node("Mul", [g.Node("Unsqueeze", [positions, axes2], "pos_u"), invFreq], "angles");
        var pe = g.Node("Concat", [g.Node("Sin", [angles], "pos_sin"), g.Node("Cos", [angles], "pos_cos")], "pos_emb", ("axis", -1L));
        var x0 = g.Node("Add", [tokens, pe], "x0");

        // Attention with the KV cache: this step's keys and values after the past ones.
        var h = LayerNorm(x0, "ln_1");
        string Heads4(string x, string name) =>
            g.Node("Transpose", [g.Node("Reshape", [x, shape4], $"{name}.r")], $"{name}.t", ("perm", new long[] { 0, 2, 1, 3 }));
        var wScale = 1f / MathF.Sqrt(Hidden);
        var q = Heads4(Linear(h, "q", Hidden, Hidden, wScale * 2), "q");
        var k = Heads4(Linear(h, "k", Hidden, Hidden, wScale * 2), "k");
        var val = Heads4(Linear(h, "v", Hidden, Hidden, wScale), "v");
        var presentKey = g.Node("Concat", ["past_key_values.0.key", k], "present.0.key", ("axis", 2L));
        var presentValue = g.Node("Concat", ["past_key_values.0.value", val], "present.0.value", ("axis", 2L));
        var keysT = g.Node("Transpose", [presentKey], "k_t", ("perm", new long[] { 0, 1, 3, 2 }));
        var scores = g.Node("Mul", [g.Node("MatMul", [q, keysT], "scores_raw"), scale], "scores");

        // Mask: key j is visible to a query at absolute position p when j <= p and attention_mask[j] is 1.
        var total = g.Node("Gather", [g.Node("Shape", ["attention_mask"], "mask_shape"), one], "total_len", ("axis", 0L));
        var keyIndex = g.Node("Range", [zero, total, one], "key_index");
        var queryPosition = g.Node("Unsqueeze", ["position_ids", axes13], "query_pos");
        var causal = g.Node("LessOrEqual", [keyIndex, queryPosition], "causal");
        var attended = g.Node("Equal", [g.Node("Unsqueeze", ["attention_mask", axes12], "mask_u"), one], "attended");
        var allowed = g.Node("And", [causal, attended], "allowed");
        var mask = g.Node("Where", [allowed, zeroF, negF], "mask");
        var probabilities = g.Node("Softmax", [g.Node("Add", [scores, mask], "scores_masked")], "probs", ("axis", -1L));
        var context = g.Node("MatMul", [probabilities, presentValue], "context");
        var merged = g.Node("Reshape", [g.Node("Transpose", [context], "context_t", ("perm", new long[] { 0, 2, 1, 3 })), shape3], "context_m");
        var x1 = g.Node("Add", [x0, Linear(merged, "o", Hidden, Hidden, wScale)], "x1");

        // MLP (SiLU).
        var up = Linear(LayerNorm(x1, "ln_2"), "fc_in", Hidden, Mlp, wScale);
        var activated = g.Node("Mul", [up, g.Node("Sigmoid", [up], "fc_sigmoid")], "fc_act");
        var x2 = g.Node("Add", [x1, Linear(activated, "fc_out", Mlp, Hidden, 1f / MathF.Sqrt(Mlp))], "x2");

        // Head; the bias favours printable ASCII and keeps special tokens rare.
        var bias = new float[v];
        for (var id = 0; id < v; id++)
        {
            bias[id] = id < 256 ? (IsPrintableAscii(id, vocab) ? 2f : -4f) : id < 256 + Merges.Length ? 2f : -30f;
        }

        var logits = Linear(LayerNorm(x2, "ln_f"), "lm_head", Hidden, v, 1.5f);
        g.Node("Add", [logits, g.FloatTensor("lm_head.bias", bias, v)], "logits");
        return g.ToModel("tiny-llm");
    }

    private static bool IsPrintableAscii(int id, Dictionary<string, int> vocab)
    {
        var token = vocab.First(p => p.Value == id).Key;
        var b = ByteLevelBpeTokenizer.UnicodeToBytes()[token[0]];
        return b is >= 32 and < 127;
    }
}
