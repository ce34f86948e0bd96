using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using InferenceGateway.Inference.Hosting;
using Microsoft.ML.Tokenizers;

namespace InferenceGateway.Inference.Embeddings;

/// <summary>The WordPiece tokenizers of BERT-family models, built once per vocabulary in a process and shared.</summary>
internal static partial class BertTokenizers
{
    /// <summary>
    /// Tokenizers built in this process, by vocabulary: one per vocabulary, kept across unloads (a few
    /// MB, against a build of 60-350 ms: 30 000 vocabulary lines and a regex pre-tokenizer, much of it
    /// JIT in a young process). Immutable once built, so the models that share a vocabulary share it.
    /// </summary>
    private static readonly ConcurrentDictionary<TokenizerKey, Lazy<BertTokenizer>> Tokenizers = new();

    /// <summary>How many times each tokenizer was built in this process (what "once" means is counted, not assumed).</summary>
    private static readonly ConcurrentDictionary<TokenizerKey, int> TokenizerBuilds = new();

    /// <summary>The tokenizer for <paramref name="model"/>'s vocabulary: built on first use, then shared; a build that fails is not kept.</summary>
    public static BertTokenizer For(ModelOptions model)
    {
        var key = TokenizerKey.Of(model);
        var tokenizer = Tokenizers.GetOrAdd(key, static (key, model) => new Lazy<BertTokenizer>(() =>
        {
            var built = Create(model);
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
    public static int BuildCount(ModelOptions model) => TokenizerBuilds.GetValueOrDefault(TokenizerKey.Of(model));

    private static BertTokenizer Create(ModelOptions model)
    {
        using var vocab = model.Source == ModelOptions.EmbeddedMiniLm
            ? EmbeddedMiniLm.Open("vocab.txt")
            : new FileStream(model.VocabPath ?? throw new InvalidOperationException("A model file needs its VocabPath."), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return BertTokenizer.Create(vocab, new BertOptions
        {
            // bert-base-uncased lowercases and strips accents ("café" is "cafe").
            LowerCaseBeforeTokenization = model.LowerCase,
            RemoveNonSpacingMarks = model.LowerCase,
            PreTokenizer = new RegexPreTokenizer(BasicTokenizerPattern(), null),
        });
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

            // A replaced vocabulary file is a new key (and a missing one fails in Create, as before).
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
