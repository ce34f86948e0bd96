using System.Text;
using System.Text.Json.Nodes;
using InferenceGateway.Contracts;
using InferenceGateway.Inference.TextGeneration;
using InferenceGateway.Tools.TinyModels;

namespace InferenceGateway.Tests.TextGeneration;

/// <summary>Decoding on the tiny generated model: greedy, seeded sampling, the KV cache, stop sequences, limits.</summary>
[TestFixture]
public sealed class TextGeneratorTests
{
    private TextGenerator _generator = null!;
    private int[] _prompt = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        _generator = TinyModel.Load();
        _prompt = _generator.Tokenizer.Encode("Once upon a time, the model said");
    }

    [OneTimeTearDown]
    public void TearDown() => _generator.Dispose();

    [Test]
    public void Load_ReadsTheLayoutFromTheSessionMetadata()
    {
        Assert.That((_generator.Layers, _generator.KvHeads, _generator.HeadDim, _generator.VocabularySize), Is.EqualTo((1, TinyModelWriter.Heads, TinyModelWriter.HeadDim, TinyModelWriter.VocabularySize)));
        Assert.That(_generator.ContextLength, Is.EqualTo(TinyModelWriter.ContextLength), "from config.json's max_position_embeddings");
        Assert.That(_generator.EosTokenIds, Is.EquivalentTo(new[] { _generator.Tokenizer.TokenId(TinyModelWriter.EndOfText)!.Value, _generator.Tokenizer.TokenId(TinyModelWriter.ImEnd)!.Value }));
    }

    [Test]
    public void Greedy_IsDeterministic_AndTheStreamedTextIsTheText()
    {
        var streamed = new StringBuilder();
        var indexes = new List<int>();
        var first = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 40 }, (i, text) => { indexes.Add(i); streamed.Append(text); });
        var second = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 40 });

        Assert.That(second.Tokens, Is.EqualTo(first.Tokens));
        Assert.That(first.Text, Is.Not.Empty);
        Assert.That(streamed.ToString(), Is.EqualTo(first.Text));
        Assert.That(indexes, Is.EqualTo(Enumerable.Range(0, first.CompletionTokens)), "one callback per generated token, in order");
        Assert.That(first.Text, Is.EqualTo(_generator.Tokenizer.Decode(first.Tokens)));
    }

    [Test]
    public void Generate_OnAThreadOfItsOwn_RunsNamedOnnxGenAndGivesTheNameBack()
    {
        // As the worker runs a generation: a LongRunning task, a dedicated thread of its own.
        var names = new List<string?>();
        var before = string.Empty;
        var after = string.Empty;
        var task = Task.Factory.StartNew(
            () =>
            {
                before = Thread.CurrentThread.Name;
                _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 4 }, (_, _) => names.Add(Thread.CurrentThread.Name));
                after = Thread.CurrentThread.Name;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        Assert.That(task.Wait(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(names, Is.Not.Empty);
        Assert.That(names, Is.All.EqualTo("onnx-gen"), "the model's CPU is counted on onnx-* threads");
        Assert.That(after, Is.EqualTo(before));
        Assert.That(before, Is.Not.EqualTo("onnx-gen"));
    }

    [Test]
    public void SeededSampling_IsReproducible_AndDifferentSeedsDiffer()
    {
        GenerationSettings Sampling(long seed) => new() { MaxNewTokens = 32, Temperature = 1.0f, TopP = 0.95f, TopK = 50, Seed = seed };

        var a = _generator.Generate(_prompt, Sampling(42));
        var again = _generator.Generate(_prompt, Sampling(42));
        var b = _generator.Generate(_prompt, Sampling(43));
        var greedy = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 32 });

        Assert.That(again.Tokens, Is.EqualTo(a.Tokens));
        Assert.That(b.Tokens, Is.Not.EqualTo(a.Tokens));
        Assert.That(a.Tokens, Is.Not.EqualTo(greedy.Tokens), "sampling at temperature 1 is not greedy");
    }

    [Test]
    public void AJobWithoutASeed_RunTwice_GeneratesTheSameTokens_AndAnotherJobDiffers()
    {
        var input = new JobInput { Prompt = "Once upon a time, the model said", MaxTokens = 32, Temperature = 1.0f };
        var model = TinyModel.Options();
        var jobId = $"job-{Guid.NewGuid():N}";

        // A redelivery runs the same message again: same job id, same input.
        var first = _generator.Generate(_generator.PromptTokens(input), GenerationRequest.Settings(input, model, jobId));
        var redelivered = _generator.Generate(_generator.PromptTokens(input), GenerationRequest.Settings(input, model, jobId));
        var otherJobs = Enumerable.Range(0, 4)
            .Select(i => _generator.Generate(_generator.PromptTokens(input), GenerationRequest.Settings(input, model, $"{jobId}-{i}")).Tokens)
            .ToArray();

        Assert.That(redelivered.Tokens, Is.EqualTo(first.Tokens));
        Assert.That(otherJobs, Has.Some.Not.EqualTo(first.Tokens), "other job ids seed other draws");
    }

    [Test]
    public void Sampling_WithLogitsWiderThanTheVocabulary_AndIdGaps_PicksOnlyTokens()
    {
        // Drop the two highest merges and the added tokens (the logits stay 263 wide, as exports pad
        // them), and id 0 (a gap): the tokenizer has no token for those ids.
        var copy = TinyModel.Copy();
        try
        {
            var path = Path.Combine(copy, "tokenizer.json");
            var json = JsonNode.Parse(File.ReadAllText(path))!;
            const int Kept = 258; // the 256 bytes and the first two merges
            var vocab = json["model"]!["vocab"]!.AsObject();
            var dropped = vocab.Where(e => e.Value!.GetValue<int>() >= Kept || e.Value!.GetValue<int>() == 0).Select(e => e.Key).ToHashSet();
            foreach (var token in dropped)
            {
                vocab.Remove(token);
            }

            var merges = json["model"]!["merges"]!.AsArray();
            foreach (var merge in merges.Where(m => dropped.Contains(m!.GetValue<string>().Replace(" ", string.Empty, StringComparison.Ordinal))).ToArray())
            {
                merges.Remove(merge);
            }

            json["added_tokens"] = new JsonArray();
            File.WriteAllText(path, json.ToJsonString());
            using var generator = TinyModel.Load(copy);
            Assert.That(generator.Tokenizer.VocabularySize, Is.LessThan(generator.VocabularySize), "the logits are wider than the vocabulary");
            var prompt = generator.Tokenizer.Encode("Once upon a time, the model said");

            var tokens = Enumerable.Range(0, 40)
                .SelectMany(seed => generator.Generate(prompt, new GenerationSettings { MaxNewTokens = 25, Temperature = 1.0f, Seed = seed }).Tokens)
                .ToArray();

            Assert.That(tokens, Has.Length.EqualTo(40 * 25));
            Assert.That(tokens, Has.All.Matches<int>(generator.Tokenizer.HasToken));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Test]
    public void TopKSelection_DrawsExactlyWhatSortingTheWholeVocabularyDraws_TiesIncluded()
    {
        var random = new Random(5);
        foreach (var (topK, topP) in new[] { (40, 1f), (40, 0.9f), (1, 1f), (5, 0.5f), (262, 0.95f) })
        {
            var sampler = new TokenSampler(0.8f, topP, topK, seed: 99);
            var reference = new TokenSampler(0.8f, topP, topK: 0, seed: 99);
            for (var step = 0; step < 200; step++)
            {
                // Coarse values, so many logits tie.
                var logits = Enumerable.Range(0, 263).Select(_ => random.Next(0, 30) / 4f).ToArray();
                var sorted = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
                // The reference: the whole vocabulary sorted, every id past the k best masked out.
                var masked = logits.Select((l, i) => Array.IndexOf(sorted, i) < topK ? l : float.NegativeInfinity).ToArray();

                Assert.That(sampler.Next(logits), Is.EqualTo(reference.Next(masked)), $"top_k {topK}, top_p {topP}, step {step}");
            }
        }
    }

    [Test]
    public void TopK1_IsGreedy()
    {
        var topK1 = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 24, Temperature = 1.5f, TopK = 1, Seed = 7 });
        var greedy = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 24 });

        Assert.That(topK1.Tokens, Is.EqualTo(greedy.Tokens));
    }

    [Test]
    public void KvCache_GivesTheSameTokensAndLogits_AsRecomputingTheWholeSequence()
    {
        var cachedLogits = new List<float[]>();
        var fullLogits = new List<float[]>();
        var cached = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 48 }, onLogits: cachedLogits.Add);
        var full = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 48, UseKvCache = false }, onLogits: fullLogits.Add);

        Assert.That(cached.Tokens, Is.EqualTo(full.Tokens));
        var worst = cachedLogits.Zip(fullLogits, (c, f) => c.Zip(f, (x, y) => Math.Abs(x - y)).Max()).Max();
        Assert.That(worst, Is.LessThan(1e-3), "logits of every step agree");
    }

    [Test]
    public void ChunkedPrefill_GivesTheSameTokensAndLogits_AsTheWholePromptAtOnce()
    {
        Assume.That(_prompt.Length, Is.GreaterThan(6), "a prompt of several chunks, the last one partial");
        var chunkedLogits = new List<float[]>();
        var wholeLogits = new List<float[]>();
        var chunked = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 40, PrefillChunkTokens = 3 }, onLogits: chunkedLogits.Add);
        var whole = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 40, PrefillChunkTokens = 0 }, onLogits: wholeLogits.Add);

        Assert.That(chunked.Tokens, Is.EqualTo(whole.Tokens));
        Assert.That(chunkedLogits, Has.Count.EqualTo(40), "one logits row per generated token: the prefill chunks before the last one keep none");
        var worst = chunkedLogits.Zip(wholeLogits, (c, w) => c.Zip(w, (x, y) => Math.Abs(x - y)).Max()).Max();
        Assert.That(worst, Is.LessThan(1e-3));
    }

    [Test]
    public void APromptOverMaxPromptTokens_IsRefusedWithContextLengthExceeded()
    {
        var ex = Assert.Throws<GenerationInputException>(() => _generator.Generate(_prompt, new GenerationSettings { MaxPromptTokens = _prompt.Length - 1 }));
        var fits = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 2, MaxPromptTokens = _prompt.Length });

        Assert.That(ex!.Code, Is.EqualTo("context_length_exceeded"));
        Assert.That(fits.CompletionTokens, Is.EqualTo(2));
    }

    [Test]
    public void StopSequence_EndsWithStop_AndTheTextExcludesIt()
    {
        var reference = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 60 });
        // A stop that first appears well into the text.
        var stop = reference.Text.Substring(20, 3);
        var expected = reference.Text[..reference.Text.IndexOf(stop, StringComparison.Ordinal)];
        var streamed = new StringBuilder();

        var output = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 60, Stop = ["\u0001never", stop] }, (_, text) => streamed.Append(text));

        Assert.That(output.FinishReason, Is.EqualTo(FinishReasons.Stop));
        Assert.That(output.Text, Is.EqualTo(expected));
        Assert.That(streamed.ToString(), Is.EqualTo(expected), "no streamed text was part of the stop sequence");
        Assert.That(output.CompletionTokens, Is.LessThan(reference.CompletionTokens));
    }

    [Test]
    public void MaxTokens_EndsWithLength()
    {
        var output = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 7 });

        Assert.That((output.FinishReason, output.CompletionTokens, output.PromptTokens), Is.EqualTo((FinishReasons.Length, 7, _prompt.Length)));
    }

    [Test]
    public void EosToken_FromGenerationConfig_EndsWithStop()
    {
        var reference = _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 20 });
        var eos = reference.Tokens[5];
        var firstAt = reference.Tokens.ToList().IndexOf(eos);
        var copy = TinyModel.Copy();
        try
        {
            File.WriteAllText(Path.Combine(copy, "generation_config.json"), new JsonObject { ["eos_token_id"] = eos }.ToJsonString());
            using var generator = TinyModel.Load(copy);

            var output = generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 20 });

            Assert.That(generator.EosTokenIds, Is.EqualTo(new[] { eos }));
            Assert.That(output.FinishReason, Is.EqualTo(FinishReasons.Stop));
            Assert.That(output.Tokens, Is.EqualTo(reference.Tokens.Take(firstAt + 1)), "the eos token is generated, then generation ends");
            Assert.That(output.Text, Is.EqualTo(_generator.Tokenizer.Decode(reference.Tokens.Take(firstAt))), "its text is not part of the result");
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Test]
    public void ContextLimit_EndsWithLength_AndAPromptThatFillsItIsRefused()
    {
        using var generator = TinyModel.Load(contextLength: _prompt.Length + 5);

        var output = generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 100 });
        var ex = Assert.Throws<GenerationInputException>(() => generator.Generate([.. _prompt, .. _prompt], new GenerationSettings()));

        Assert.That((output.FinishReason, output.CompletionTokens), Is.EqualTo((FinishReasons.Length, 5)));
        Assert.That(ex!.Code, Is.EqualTo("context_length_exceeded"));
    }

    [Test]
    public void Cancellation_StopsBetweenSteps()
    {
        using var cts = new CancellationTokenSource();
        var seen = 0;

        Assert.Catch<OperationCanceledException>(() => _generator.Generate(_prompt, new GenerationSettings { MaxNewTokens = 1000 }, (i, _) =>
        {
            seen = i + 1;
            if (i == 2)
            {
                cts.Cancel();
            }
        }, cancellationToken: cts.Token));

        Assert.That(seen, Is.EqualTo(3));
    }
}
