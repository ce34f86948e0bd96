using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace InferenceGateway.Inference.TextGeneration;

/// <summary>
/// A byte-level BPE tokenizer read from a Hugging Face <c>tokenizer.json</c> (GPT-2, SmolLM2,
/// Qwen2.5, Llama-3 style): <c>model.type</c> BPE with <c>vocab</c> and <c>merges</c> ("a b" strings
/// or [a, b] pairs), a ByteLevel pre-tokenizer (GPT-2's split pattern, or a preceding Split's own
/// pattern) and decoder, an optional NFC normalizer, and <c>added_tokens</c> matched in the text
/// before BPE runs. SentencePiece-style models (byte fallback, Metaspace) are refused at load.
/// Thread-safe.
/// </summary>
public sealed class ByteLevelBpeTokenizer
{
    /// <summary>Most words the encoding cache holds; when full it is emptied.</summary>
    public const int CacheCapacity = 10_000;

    /// <summary>Longer words are not cached: they are rare, and caching user text of any length would grow without bound.</summary>
    public const int MaxCachedWordLength = 64;

    /// <summary>GPT-2's pre-tokenizer pattern (the ByteLevel pre-tokenizer's <c>use_regex</c>).</summary>
    /// <remarks>
    /// .NET matches <c>\p{L}</c> per UTF-16 unit, so a letter outside the BMP (a surrogate pair)
    /// would fall into the punctuation run, unlike Hugging Face's per-code-point regex. The pattern
    /// treats the pairs of the main supplementary letter blocks as letters: Mathematical
    /// Alphanumeric letters (U+1D400-U+1D7CD) and the CJK extensions (U+20000-U+3FFFF). Other
    /// supplementary letters (historic scripts) and digits, and the patterns of a tokenizer.json
    /// Split (Llama 3, Qwen2), still split per UTF-16 unit: a rare mismatch with the reference.
    /// </remarks>
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?(?:\p{L}|" + SupplementaryLetter + @")+| ?\p{N}+| ?(?:(?!" + SupplementaryLetter + @")[^\s\p{L}\p{N}])+|\s+(?!\S)|\s+";

    /// <summary>A surrogate pair in a supplementary block of letters (see <see cref="Gpt2Pattern"/>).</summary>
    private const string SupplementaryLetter = @"\uD835[\uDC00-\uDFCD]|[\uD840-\uD8BF][\uDC00-\uDFFF]";

    private static readonly char[] ByteToChar = BuildBytesToUnicode();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _tokens;
    private readonly byte[]?[] _tokenBytes;
    private readonly Dictionary<(string, string), int> _mergeRanks;
    private readonly (string Content, int Id, bool Special)[] _added;
    private readonly bool[] _special;
    private readonly Regex? _split;
    private readonly Regex? _addedPattern;
    private readonly bool _addPrefixSpace;
    private readonly bool _ignoreMerges;
    private readonly bool _nfc;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cacheAdds;

    private ByteLevelBpeTokenizer(
        Dictionary<string, int> vocab,
        Dictionary<(string, string), int> mergeRanks,
        (string Content, int Id, bool Special)[] added,
        Regex? split,
        bool addPrefixSpace,
        bool ignoreMerges,
        bool nfc)
    {
        _vocab = vocab;
        _mergeRanks = mergeRanks;
        _added = [.. added.OrderByDescending(a => a.Content.Length)];
        _split = split;
        _addPrefixSpace = addPrefixSpace;
        _ignoreMerges = ignoreMerges;
        _nfc = nfc;
        var size = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, added.Length == 0 ? 0 : added.Max(a => a.Id) + 1);
        _tokens = new string[size];
        _tokenBytes = new byte[]?[size];
        _special = new bool[size];
        foreach (var (token, id) in vocab)
        {
            _tokens[id] = token;
            _tokenBytes[id] = TokenBytes(token);
        }

        foreach (var (content, id, special) in added)
        {
            _tokens[id] = content;
            _tokenBytes[id] = Encoding.UTF8.GetBytes(content);
            _special[id] = special;
        }

        _addedPattern = _added.Length == 0
            ? null
            : new Regex(string.Join('|', _added.Select(a => Regex.Escape(a.Content))), RegexOptions.CultureInvariant);
    }

    /// <summary>Words in the encoding cache now (at most <see cref="CacheCapacity"/>).</summary>
    public int CachedWords => _cache.Count;

    /// <summary>Ids 0 .. VocabularySize - 1 (the largest id plus one).</summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>Loads <c>tokenizer.json</c>.</summary>
    /// <exception cref="InvalidOperationException">Not a byte-level BPE tokenizer.</exception>
    public static ByteLevelBpeTokenizer Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    public static ByteLevelBpeTokenizer Load(Stream stream, string source = "tokenizer.json")
    {
        using var document = JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true });
        var root = document.RootElement;
        var model = root.GetProperty("model");
        var type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : "BPE";
        if (type != "BPE")
        {
            throw new InvalidOperationException($"{source}: model.type is '{type}'; only byte-level BPE tokenizers are supported.");
        }

        if (model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True)
        {
            throw new InvalidOperationException($"{source}: a byte_fallback (SentencePiece-style) BPE is not supported; only byte-level BPE (GPT-2, Llama-3, Qwen2) is.");
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            vocab[entry.Name] = entry.Value.GetInt32();
        }

        var ranks = new Dictionary<(string, string), int>();
        if (model.TryGetProperty("merges", out var merges) && merges.ValueKind == JsonValueKind.Array)
        {
            foreach (var merge in merges.EnumerateArray())
            {
                (string, string) pair;
                if (merge.ValueKind == JsonValueKind.String)
                {
                    var text = merge.GetString()!;
                    var space = text.IndexOf(' ', 1);
                    if (space < 0)
                    {
                        throw new InvalidOperationException($"{source}: merge '{text}' is not two tokens.");
                    }

                    pair = (text[..space], text[(space + 1)..]);
                }
                else
                {
                    pair = (merge[0].GetString()!, merge[1].GetString()!);
                }

                ranks.TryAdd(pair, ranks.Count);
            }
        }

        var added = new List<(string, int, bool)>();
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in addedTokens.EnumerateArray())
            {
                added.Add((token.GetProperty("content").GetString()!, token.GetProperty("id").GetInt32(),
                    token.TryGetProperty("special", out var special) && special.ValueKind == JsonValueKind.True));
            }
        }

        var (split, addPrefixSpace, byteLevel) = PreTokenizer(root.TryGetProperty("pre_tokenizer", out var pre) ? pre : default);
        if (!byteLevel)
        {
            throw new InvalidOperationException($"{source}: no ByteLevel pre-tokenizer; only byte-level BPE tokenizers are supported.");
        }

        var ignoreMerges = model.TryGetProperty("ignore_merges", out var ignore) && ignore.ValueKind == JsonValueKind.True;
        var nfc = root.TryGetProperty("normalizer", out var normalizer) && normalizer.ValueKind == JsonValueKind.Object
            && normalizer.TryGetProperty("type", out var normalizerType) && normalizerType.GetString() == "NFC";
        return new ByteLevelBpeTokenizer(vocab, ranks, [.. added], split, addPrefixSpace, ignoreMerges, nfc);
    }

    /// <summary>The id of a token (an added token's content, or a vocabulary entry in its byte-level form), or null.</summary>
    public int? TokenId(string token) =>
        _added.FirstOrDefault(a => a.Content == token) is { Content: not null } added ? added.Id
        : _vocab.TryGetValue(token, out var id) ? id : null;

    /// <summary>True when <paramref name="id"/> is a token of this vocabulary (ids may have gaps).</summary>
    public bool HasToken(int id) => id >= 0 && id < _tokenBytes.Length && _tokenBytes[id] is not null;

    /// <summary>True for an added token marked special (not part of generated text).</summary>
    public bool IsSpecial(int id) => id >= 0 && id < _special.Length && _special[id];

    /// <summary>
    /// The token ids of <paramref name="text"/>: added tokens where their text appears, BPE for the
    /// rest; with <paramref name="addedTokens"/> false, all of it as plain text (untrusted content).
    /// </summary>
    public int[] Encode(string text, bool addedTokens = true, CancellationToken cancellationToken = default)
    {
        var ids = new List<int>();
        var start = 0;
        if (addedTokens && _addedPattern is not null)
        {
            foreach (Match match in _addedPattern.Matches(text))
            {
                EncodeOrdinary(text[start..match.Index], ids, cancellationToken);
                ids.Add(_added.First(a => a.Content == match.Value).Id);
                start = match.Index + match.Length;
            }
        }

        EncodeOrdinary(text[start..], ids, cancellationToken);
        return [.. ids];
    }

    /// <summary>The UTF-8 bytes of token <paramref name="id"/>; empty for special tokens unless <paramref name="includeSpecial"/>.</summary>
    public ReadOnlySpan<byte> TokenBytes(int id, bool includeSpecial = false)
    {
        if (id < 0 || id >= _tokenBytes.Length || _tokenBytes[id] is not { } bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, "Not a token of this vocabulary.");
        }

        return _special[id] && !includeSpecial ? [] : bytes;
    }

    /// <summary>The text of <paramref name="ids"/> (invalid UTF-8 becomes U+FFFD).</summary>
    public string Decode(IEnumerable<int> ids, bool includeSpecial = false)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            bytes.AddRange(TokenBytes(id, includeSpecial));
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <summary>GPT-2's map from each byte to a printable character (its <c>bytes_to_unicode</c>).</summary>
    public static char[] BytesToUnicode() => [.. ByteToChar];

    /// <summary>The inverse of <see cref="BytesToUnicode"/>.</summary>
    public static IReadOnlyDictionary<char, byte> UnicodeToBytes() => CharToByte;

    private static char[] BuildBytesToUnicode()
    {
        var map = new char[256];
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + n++);
        }

        return map;
    }

    private static (Regex? Split, bool AddPrefixSpace, bool ByteLevel) PreTokenizer(JsonElement pre)
    {
        if (pre.ValueKind != JsonValueKind.Object)
        {
            return (null, false, false);
        }

        var type = pre.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type == "ByteLevel")
        {
            var useRegex = !pre.TryGetProperty("use_regex", out var u) || u.ValueKind != JsonValueKind.False;
            var prefix = pre.TryGetProperty("add_prefix_space", out var p) && p.ValueKind == JsonValueKind.True;
            return (useRegex ? new Regex(Gpt2Pattern, RegexOptions.CultureInvariant) : null, prefix, true);
        }

        if (type == "Sequence" && pre.TryGetProperty("pretokenizers", out var list))
        {
            Regex? split = null;
            var prefix = false;
            var byteLevel = false;
            foreach (var item in list.EnumerateArray())
            {
                var itemType = item.TryGetProperty("type", out var it) ? it.GetString() : null;
                if (itemType == "Split" && item.TryGetProperty("pattern", out var pattern) && pattern.TryGetProperty("Regex", out var regex))
                {
                    split = new Regex(regex.GetString()!, RegexOptions.CultureInvariant);
                }
                else if (itemType == "ByteLevel")
                {
                    var (ownSplit, ownPrefix, _) = PreTokenizer(item);
                    split ??= ownSplit;
                    prefix = ownPrefix;
                    byteLevel = true;
                }
            }

            return (split, prefix, byteLevel);
        }

        return (null, false, false);
    }

    private static byte[] TokenBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            // A vocabulary entry outside the byte alphabet (rare) keeps its UTF-8 form.
            if (!CharToByte.TryGetValue(token[i], out bytes[i]))
            {
                return Encoding.UTF8.GetBytes(token);
            }
        }

        return bytes;
    }

    /// <summary>The pre-tokens (words BPE runs on) of <paramref name="text"/> (tests).</summary>
    internal IEnumerable<string> PreTokens(string text) =>
        _split is null ? [text] : _split.Matches(text).Select(m => m.Value);

    private void EncodeOrdinary(string text, List<int> ids, CancellationToken cancellationToken)
    {
        if (text.Length == 0)
        {
            return;
        }

        if (_nfc)
        {
            text = text.Normalize(NormalizationForm.FormC);
        }

        if (_addPrefixSpace && !text.StartsWith(' '))
        {
            text = " " + text;
        }

        if (_split is null)
        {
            ids.AddRange(EncodeWord(text));
            return;
        }

        foreach (Match match in _split.Matches(text))
        {
            cancellationToken.ThrowIfCancellationRequested();
            ids.AddRange(EncodeWord(match.Value));
        }
    }

    private int[] EncodeWord(string word)
    {
        var cacheable = word.Length <= MaxCachedWordLength;
        if (cacheable && _cache.TryGetValue(word, out var cached))
        {
            return cached;
        }

        var bytes = Encoding.UTF8.GetBytes(word);
        var chars = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            chars.Append(ByteToChar[b]);
        }

        var mapped = chars.ToString();
        var result = _ignoreMerges && _vocab.TryGetValue(mapped, out var whole) ? [whole] : Merge(mapped);
        if (cacheable)
        {
            // Bounded: when full, start over (cheaper than LRU bookkeeping on every hit, and the
            // common words come back at once). A counter, not ConcurrentDictionary.Count (all locks).
            if (Interlocked.Increment(ref _cacheAdds) > CacheCapacity)
            {
                _cache.Clear();
                Interlocked.Exchange(ref _cacheAdds, 1);
            }

            _cache.TryAdd(word, result);
        }

        return result;
    }

    /// <summary>
    /// BPE over a word's byte characters: repeatedly merges the adjacent pair of lowest rank, the
    /// leftmost first among equals (what merging every occurrence left to right does), with the
    /// symbols in a linked list and the candidate pairs in a priority queue: O(n log n) in the
    /// word's length rather than O(n²), so one 200,000-character "word" with no space is cheap.
    /// </summary>
    private int[] Merge(string mapped)
    {
        var n = mapped.Length;
        var symbols = new string?[n];
        var next = new int[n];
        var previous = new int[n];
        for (var i = 0; i < n; i++)
        {
            symbols[i] = mapped[i].ToString();
            next[i] = i + 1 < n ? i + 1 : -1;
            previous[i] = i - 1;
        }

        var queue = new PriorityQueue<(int Left, string LeftText, string RightText), (int Rank, int Left)>();
        void Consider(int left)
        {
            if (left >= 0 && next[left] is var right and >= 0
                && _mergeRanks.TryGetValue((symbols[left]!, symbols[right]!), out var rank))
            {
                queue.Enqueue((left, symbols[left]!, symbols[right]!), (rank, left));
            }
        }

        for (var i = 0; i < n - 1; i++)
        {
            Consider(i);
        }

        while (queue.TryDequeue(out var pair, out _))
        {
            var (left, leftText, rightText) = pair;
            var right = next[left];
            // Stale: either symbol has merged since this pair was queued.
            if (symbols[left] is not { } l || right < 0 || !ReferenceEquals(l, leftText) || !ReferenceEquals(symbols[right], rightText))
            {
                continue;
            }

            symbols[left] = leftText + rightText;
            symbols[right] = null;
            next[left] = next[right];
            if (next[right] >= 0)
            {
                previous[next[right]] = left;
            }

            Consider(previous[left]);
            Consider(left);
        }

        var ids = new List<int>();
        for (var i = 0; i >= 0; i = next[i])
        {
            var part = symbols[i]!;
            ids.Add(_vocab.TryGetValue(part, out var id)
                ? id
                : throw new InvalidOperationException($"Token '{part}' is not in the vocabulary (a byte-level vocabulary has every byte)."));
        }

        return [.. ids];
    }
}
