using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Batching;
using InferenceGateway.Inference.Embeddings;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Inference;

/// <summary>
/// <see cref="EmbeddingBatcher"/> on the real model: merged batches give every caller the vectors
/// it would have got alone. The window runs on a fake clock wherever a count is asserted, so which
/// callers share a batch is decided by the test, not by the scheduler.
/// </summary>
[TestFixture]
public sealed class EmbeddingBatcherTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static readonly string[] Sentences =
    [
        "a",
        "Scaling to zero saves money overnight.",
        "The quick brown fox jumps over the lazy dog.",
        "GPU workers scale to zero when the queue is empty.",
        "Le chat est assis sur le tapis.",
        "e-mail: someone@example.com, phone +1 (555) 010-9999",
        "Mean pooling averages token embeddings using the attention mask, then the vector is normalised to unit length so cosine similarity is a dot product.",
        "What is the capital of France?",
        "    leading and trailing whitespace    ",
        string.Join(' ', Enumerable.Repeat("Queue, worker, result: the edge never blocks on the GPU.", 12)),
        "1234567890",
        "Transformers use self-attention to weigh tokens in context.",
    ];

    private readonly Dictionary<string, float[]> _alone = [];
    private MiniLmEmbedder _model = null!;

    /// <summary>The model with one run at a time, where a test counts the batches (two free runs share the waiting callers).</summary>
    private MiniLmEmbedder _oneRun = null!;

    [OneTimeSetUp]
    public void Load()
    {
        _model = MiniLmEmbedder.Load(new InferenceOptions());
        _oneRun = MiniLmEmbedder.Load(new InferenceOptions { ConcurrentRuns = 1 });
    }

    [OneTimeTearDown]
    public void Unload()
    {
        _model.Dispose();
        _oneRun.Dispose();
    }

    [Test]
    public async Task EmbedAsync_FortyConcurrentCallersOfVariedLengths_GetTheVectorsTheyWouldGetAlone()
    {
        await using var batcher = NewBatcher(TimeProvider.System, new BatchingOptions { WindowMs = 5, MaxBatchTexts = 32 });
        var jobs = Enumerable.Range(0, 40).Select(Job).ToArray();

        var calls = jobs.Select(texts => Task.Run(() => batcher.EmbedAsync(_model, texts, CancellationToken.None))).ToArray();
        var results = await Task.WhenAll(calls).WaitAsync(Deadline);

        for (var i = 0; i < jobs.Length; i++)
        {
            AssertSameVectors(results[i], jobs[i], $"caller {i}");
        }

        Assert.That(batcher.Statistics.Requests, Is.EqualTo(jobs.Length));
        Assert.That(batcher.Statistics.Texts, Is.EqualTo(jobs.Sum(j => j.Length)));
    }

    [Test]
    public async Task EmbedAsync_CallersWithinOneWindow_ShareOneModelCall()
    {
        var time = new FakeTimeProvider();
        await using var batcher = NewBatcher(time, new BatchingOptions { WindowMs = 5, MaxBatchTexts = 256 });
        var jobs = Enumerable.Range(0, 40).Select(Job).ToArray();

        // From 40 pool threads at once; each EmbedAsync has joined the waiting batch when it returns.
        var calls = await Task.WhenAll(jobs.Select(texts => Task.Factory.StartNew(
            () => batcher.EmbedAsync(_oneRun, texts, CancellationToken.None),
            CancellationToken.None,
            TaskCreationOptions.None,
            TaskScheduler.Default)));
        Assert.That(batcher.WaitingTexts(_oneRun), Is.EqualTo(jobs.Sum(j => j.Length)));
        Assert.That(batcher.Statistics.Batches, Is.Zero);

        time.Advance(TimeSpan.FromMilliseconds(5));
        var results = await Task.WhenAll(calls).WaitAsync(Deadline);

        Assert.That(batcher.Statistics, Is.EqualTo(new BatchingStatistics(Batches: 1, Requests: 40, Texts: jobs.Sum(j => j.Length))));
        for (var i = 0; i < jobs.Length; i++)
        {
            AssertSameVectors(results[i], jobs[i], $"caller {i}");
        }
    }

    [Test]
    public async Task EmbedAsync_MoreTextsThanTheLimit_ClosesTheWindowEarlyAndTheRestWaitForTheNext()
    {
        var time = new FakeTimeProvider();
        await using var batcher = NewBatcher(time, new BatchingOptions { WindowMs = 5, MaxBatchTexts = 32 });
        var texts = Enumerable.Range(0, 40).Select(i => Sentences[i % Sentences.Length]).ToArray();

        // The 32nd caller fills the batch: it starts without the clock moving; callers 33 to 40 open the next window.
        var calls = texts.Select(text => batcher.EmbedAsync(_oneRun, [text], CancellationToken.None)).ToArray();
        await Task.WhenAll(calls.Take(32)).WaitAsync(Deadline);
        Assert.That(calls.Skip(32).Any(c => c.IsCompleted), Is.False);
        Assert.That(batcher.WaitingTexts(_oneRun), Is.EqualTo(8));

        time.Advance(TimeSpan.FromMilliseconds(5));
        var results = await Task.WhenAll(calls).WaitAsync(Deadline);

        Assert.That(batcher.Statistics, Is.EqualTo(new BatchingStatistics(Batches: 2, Requests: 40, Texts: 40)));
        Assert.That(batcher.Statistics.MeanBatchSize, Is.EqualTo(20));
        for (var i = 0; i < texts.Length; i++)
        {
            AssertSameVectors(results[i], [texts[i]], $"caller {i}");
        }
    }

    [Test]
    public async Task EmbedAsync_CallerCancelledWhileWaiting_LeavesTheBatchAndTheOthersAreServed()
    {
        var time = new FakeTimeProvider();
        await using var batcher = NewBatcher(time, new BatchingOptions { WindowMs = 5 });
        using var cancel = new CancellationTokenSource();

        var leaving = batcher.EmbedAsync(_model, [Sentences[1], Sentences[2]], cancel.Token);
        var staying = batcher.EmbedAsync(_model, [Sentences[3]], CancellationToken.None);
        await cancel.CancelAsync();

        Assert.That(async () => await leaving.WaitAsync(Deadline), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(batcher.WaitingTexts(_model), Is.EqualTo(1));

        time.Advance(TimeSpan.FromMilliseconds(5));
        AssertSameVectors(await staying.WaitAsync(Deadline), [Sentences[3]], "the caller that stayed");
        Assert.That(batcher.Statistics, Is.EqualTo(new BatchingStatistics(Batches: 1, Requests: 1, Texts: 1)));
    }

    [Test]
    public async Task EmbedAsync_CallerCancelledWhileItsBatchRuns_IsCancelledAndTheBatchGoesOnForTheOthers()
    {
        var time = new FakeTimeProvider();
        await using var batcher = NewBatcher(time, new BatchingOptions { WindowMs = 5, MaxBatchTexts = 1024 });
        using var cancel = new CancellationTokenSource();
        var many = Enumerable.Range(0, 200).Select(i => Sentences[i % Sentences.Length]).ToArray();

        // One run: with two, the free runs share the waiting texts and a request is never split, so
        // the leaving caller's one text ran as a batch of its own and, on a loaded machine, could
        // end before the cancel.
        var leaving = batcher.EmbedAsync(_oneRun, [Sentences[4]], cancel.Token);
        var staying = batcher.EmbedAsync(_oneRun, many, CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(5));
        Assert.That(batcher.WaitingTexts(_oneRun), Is.Zero, "both callers are in the running batch");
        await cancel.CancelAsync();

        Assert.That(async () => await leaving.WaitAsync(Deadline), Throws.InstanceOf<OperationCanceledException>());
        AssertSameVectors(await staying.WaitAsync(Deadline), many, "the caller that stayed");
        Assert.That(batcher.Statistics, Is.EqualTo(new BatchingStatistics(Batches: 1, Requests: 2, Texts: 201)), "one batch held both");
    }

    [Test]
    public async Task EmbedAsync_EveryCallerOfARunningBatchCancelled_AllAreCancelledAndTheModelServesTheNextBatch()
    {
        var time = new FakeTimeProvider();
        await using var batcher = NewBatcher(time, new BatchingOptions { WindowMs = 5, MaxBatchTexts = 1024 });
        using var cancel = new CancellationTokenSource();
        var many = Enumerable.Range(0, 300).Select(i => Sentences[i % Sentences.Length]).ToArray();

        var first = batcher.EmbedAsync(_model, many, cancel.Token);
        var second = batcher.EmbedAsync(_model, many, cancel.Token);
        time.Advance(TimeSpan.FromMilliseconds(5));
        await cancel.CancelAsync();

        Assert.That(async () => await first.WaitAsync(Deadline), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await second.WaitAsync(Deadline), Throws.InstanceOf<OperationCanceledException>());

        var next = batcher.EmbedAsync(_model, [Sentences[5]], CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(5));
        AssertSameVectors(await next.WaitAsync(Deadline), [Sentences[5]], "the next caller");
    }

    [Test]
    public async Task EmbedAsync_Disabled_CallsTheModelOncePerCaller()
    {
        await using var batcher = NewBatcher(new FakeTimeProvider(), new BatchingOptions { Enabled = false });
        var jobs = Enumerable.Range(0, 6).Select(Job).ToArray();

        // No window to wait out: the fake clock never moves.
        var results = await Task.WhenAll(jobs.Select(texts => batcher.EmbedAsync(_model, texts, CancellationToken.None))).WaitAsync(Deadline);

        for (var i = 0; i < jobs.Length; i++)
        {
            AssertSameVectors(results[i], jobs[i], $"caller {i}");
        }

        Assert.That(batcher.Statistics, Is.EqualTo(new BatchingStatistics(Batches: 6, Requests: 6, Texts: jobs.Sum(j => j.Length))));
    }

    [Test]
    public async Task EmbedAsync_RunsTheModelOnThreadsNamedOnnx_WhereTheLoadBenchmarkCountsItsCpu()
    {
        Assume.That(OperatingSystem.IsLinux(), "thread names and CPU times from /proc");
        await using var batcher = NewBatcher(new FakeTimeProvider(), new BatchingOptions { WindowMs = 0 });
        var texts = Enumerable.Range(0, 256).Select(i => Sentences[i % Sentences.Length]).ToArray();

        var onnxBefore = OnnxThreadStats.CpuMs("onnx-");
        var processBefore = Environment.CpuUsage.TotalTime;
        var vectors = await batcher.EmbedAsync(_model, texts, CancellationToken.None).WaitAsync(Deadline);
        var onnxMs = OnnxThreadStats.CpuMs("onnx-") - onnxBefore;
        var processMs = (Environment.CpuUsage.TotalTime - processBefore).TotalMilliseconds;

        Assert.That(vectors, Has.Length.EqualTo(texts.Length));
        Assert.That(OnnxThreadStats.Names(), Does.Contain("onnx-run-0"));
        // The model's CPU is on the onnx-* threads (bench/LoadTest's ProcessCpu.ThreadMilliseconds(pid, "onnx-")), not the pool's.
        Assert.That(onnxMs, Is.GreaterThan(0.5 * processMs), $"onnx-* threads: {onnxMs} ms of the process's {processMs:F0} ms");
    }

    /// <summary>Most callers send one text; every fifth sends three, of different lengths.</summary>
    private static string[] Job(int i) => i % 5 == 4
        ? [Sentences[i % Sentences.Length], Sentences[(i + 3) % Sentences.Length], Sentences[(i + 7) % Sentences.Length]]
        : [Sentences[i % Sentences.Length]];

    private static EmbeddingBatcher NewBatcher(TimeProvider time, BatchingOptions options) =>
        new(Options.Create(options), time, NullLogger<EmbeddingBatcher>.Instance);

    /// <summary>Each vector against the model run on its text alone, unbatched and unpadded.</summary>
    private void AssertSameVectors(float[][] actual, string[] texts, string who)
    {
        Assert.That(actual, Has.Length.EqualTo(texts.Length), who);
        for (var i = 0; i < texts.Length; i++)
        {
            if (!_alone.TryGetValue(texts[i], out var alone))
            {
                _alone[texts[i]] = alone = _model.Embed([texts[i]])[0];
            }

            Assert.That(Similarity.Cosine(actual[i], alone), Is.GreaterThanOrEqualTo(0.9999), $"{who}, text {i}: \"{texts[i]}\"");
        }
    }
}
