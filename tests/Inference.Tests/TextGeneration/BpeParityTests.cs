using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using InferenceGateway.Inference.TextGeneration;
using Microsoft.ML.Tokenizers;

namespace InferenceGateway.Tests.TextGeneration;

/// <summary>
/// The worker's own byte-level BPE (<see cref="ByteLevelBpeTokenizer"/>, read from a
/// <c>tokenizer.json</c>) against Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> in byte-level
/// mode, on the same vocabulary, merges and GPT-2 pre-tokenizer pattern: the same token ids for every
/// text. The vocabulary is trained here (a few hundred merges over a mixed-script corpus), so merge
/// ranks, multi-byte characters and the pattern's contractions, digits and whitespace runs all
/// matter; letters outside the Basic Multilingual Plane are left out, where the two regex engines
/// are known to split differently (see the tokenizer's remarks).
/// </summary>
[TestFixture]
public sealed class BpeParityTests
{
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private const int MergeCount = 300;

    private static readonly string[] Corpus =
    [
        "The quick brown fox jumps over the lazy dog. The dog didn't mind; it's seen worse.",
        "Inference gateways accept jobs at the edge, enqueue them, and stream the results back.",
        "We'll run 1234 jobs, then 56789 more: they're queued, they've started, I'm waiting.",
        "Les élèves ont réussi l'examen à Noël; café, crème brûlée et façade.",
        "Übergrößenträger müssen Straßen überqueren; schön, grün, Öl.",
        "東京は日本の首都です。今日は天気がいいですね。",
        "Привет, мир! Как дела? Всё хорошо.",
        "def main():\n    for i in range(10):\n        print(i * 2)  # tabs\tand  spaces",
        "emoji 😀 and symbols ±§©®™ with    many     spaces and\nnew\n\nlines",
    ];

    private static readonly string[] Texts =
    [
        "The quick brown fox didn't jump.",
        "they're queued, we'll see, I'm here, you've got it, she's gone",
        "jobs 1234 and 99999999 and 3.14159",
        "Noël à l'école: crème brûlée",
        "Straße Übergröße",
        "東京の天気",
        "Всё хорошо, мир",
        "    indented\tcode()\n\n\treturn x  ",
        "emoji 😀😀 and ±§ symbols",
        "trailing spaces   ",
        "   leading spaces",
        "unseen words: zyxwvut qqqq",
        "",
        " ",
        "a",
    ];

    private ByteLevelBpeTokenizer _ours = null!;
    private BpeTokenizer _reference = null!;
    private string _directory = null!;

    [OneTimeSetUp]
    public void Train()
    {
        var (vocab, merges) = TrainBpe(Corpus, MergeCount);
        Assert.That(merges, Has.Count.EqualTo(MergeCount), "the corpus has enough pairs for every merge");

        _directory = Path.Combine(Path.GetTempPath(), "bpe-parity-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        var path = Path.Combine(_directory, "tokenizer.json");
        File.WriteAllText(path, TokenizerJson(vocab, merges));
        _ours = ByteLevelBpeTokenizer.Load(path);

        _reference = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges.Select(m => $"{m.Left} {m.Right}"),
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(new Regex(Gpt2Pattern, RegexOptions.CultureInvariant), null),
        });
    }

    [OneTimeTearDown]
    public void CleanUp() => Directory.Delete(_directory, recursive: true);

    [TestCaseSource(nameof(Texts))]
    public void SameIds_AsMicrosoftMlTokenizersBpe(string text)
    {
        var ours = _ours.Encode(text, addedTokens: false);
        var reference = _reference.EncodeToIds(text);

        Assert.That(ours, Is.EqualTo(reference), $"'{text}'");
        Assert.That(_ours.Decode(ours), Is.EqualTo(text), "and back to the same text");
    }

    [Test]
    public void TheTrainedMergesAreUsed_NotJustBytes()
    {
        // Guards the parity above against a vocabulary too small to tell two BPEs apart.
        var text = "The quick brown fox jumps over the lazy dog.";
        Assert.That(_ours.Encode(text, addedTokens: false), Has.Length.LessThan(Encoding.UTF8.GetByteCount(text) / 2));
    }

    /// <summary>Plain BPE training: the most frequent adjacent pair (ties by ordinal order) is merged, <paramref name="count"/> times.</summary>
    private static (Dictionary<string, int> Vocab, List<(string Left, string Right)> Merges) TrainBpe(IEnumerable<string> corpus, int count)
    {
        var byteChars = ByteLevelBpeTokenizer.BytesToUnicode();
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        var split = new Regex(Gpt2Pattern, RegexOptions.CultureInvariant);
        foreach (var line in corpus)
        {
            foreach (Match match in split.Matches(line))
            {
                var mapped = string.Concat(Encoding.UTF8.GetBytes(match.Value).Select(b => byteChars[b]));
                words[mapped] = words.GetValueOrDefault(mapped) + 1;
            }
        }

        var symbols = words.Select(w => (Parts: w.Key.Select(c => c.ToString()).ToList(), Count: w.Value)).ToList();
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in byteChars)
        {
            vocab[c.ToString()] = vocab.Count;
        }

        var merges = new List<(string, string)>();
        while (merges.Count < count)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (parts, n) in symbols)
            {
                for (var i = 0; i < parts.Count - 1; i++)
                {
                    pairs[(parts[i], parts[i + 1])] = pairs.GetValueOrDefault((parts[i], parts[i + 1])) + n;
                }
            }

            if (pairs.Count == 0)
            {
                break;
            }

            var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2, StringComparer.Ordinal).First().Key;
            merges.Add(best);
            vocab.TryAdd(best.Item1 + best.Item2, vocab.Count);
            foreach (var (parts, _) in symbols)
            {
                for (var i = 0; i < parts.Count - 1; i++)
                {
                    if (parts[i] == best.Item1 && parts[i + 1] == best.Item2)
                    {
                        parts[i] = best.Item1 + best.Item2;
                        parts.RemoveAt(i + 1);
                    }
                }
            }
        }

        return (vocab, merges);
    }

    private static string TokenizerJson(Dictionary<string, int> vocab, List<(string Left, string Right)> merges)
    {
        var vocabJson = new JsonObject();
        foreach (var (token, id) in vocab.OrderBy(v => v.Value))
        {
            vocabJson[token] = id;
        }

        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(),
            ["normalizer"] = null,
            ["pre_tokenizer"] = byteLevel.DeepClone(),
            ["decoder"] = byteLevel.DeepClone(),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["vocab"] = vocabJson,
                ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)JsonValue.Create($"{m.Left} {m.Right}"))]),
            },
        }.ToJsonString();
    }
}
