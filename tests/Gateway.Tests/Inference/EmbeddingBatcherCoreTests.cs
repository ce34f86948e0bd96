using System.Collections.Concurrent;
using System.Globalization;
using InferenceGateway.Inference;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Inference;

/// <summary>
/// The batching rules of <see cref="EmbeddingBatcher"/>'s core with a fake model whose "vector" for
/// text <c>tN</c> is <c>[N]</c>, and which can be held inside its call, so what runs together, and
/// when, is decided by the test. The fake clock moves only when the test advances it.
/// </summary>
[TestFixture]
public sealed class EmbeddingBatcherCoreTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(5);

    [Test]
    public async Task EmbedAsync_CallersInOneWindow_RunInOneCallAndEachGetsItsOwnVectorsInOrder()
    {
        var model = new FakeModel();
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time);

        var a = batcher.EmbedAsync(model, ["t1", "t2", "t3"], CancellationToken.None);
        var b = batcher.EmbedAsync(model, ["t4"], CancellationToken.None);
        var c = batcher.EmbedAsync(model, ["t5", "t6"], CancellationToken.None);
        time.Advance(Window);

        Assert.That(Ids(await a.WaitAsync(Deadline)), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(Ids(await b.WaitAsync(Deadline)), Is.EqualTo(new[] { 4 }));
        Assert.That(Ids(await c.WaitAsync(Deadline)), Is.EqualTo(new[] { 5, 6 }));
        Assert.That(model.Calls, Has.Count.EqualTo(1));
        Assert.That(model.Calls.Single(), Is.EqualTo(new[] { "t1", "t2", "t3", "t4", "t5", "t6" }));
        Assert.That(batcher.Statistics, Is.EqualTo(new BatchingStatistics(Batches: 1, Requests: 3, Texts: 6)));
    }

    [Test]
    public async Task EmbedAsync_BeforeTheWindowCloses_DoesNotCallTheModel()
    {
        var model = new FakeModel();
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time);

        var call = batcher.EmbedAsync(model, ["t1"], CancellationToken.None);
        time.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.That(batcher.WaitingTexts(model), Is.EqualTo(1));
        Assert.That(call.IsCompleted, Is.False);

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(Ids(await call.WaitAsync(Deadline)), Is.EqualTo(new[] { 1 }));
    }

    [Test]
    public async Task EmbedAsync_TwoModelInstances_NeverShareABatch()
    {
        var first = new FakeModel();
        var second = new FakeModel();
        var time = new FakeTimeProvider();
        var calls = new ConcurrentQueue<(object Model, string[] Texts)>();
        await using var batcher = new MicroBatcher<FakeModel>(
            new BatchingOptions { WindowMs = 5 },
            time,
            NullLogger.Instance,
            (model, texts, _) =>
            {
                calls.Enqueue((model, [.. texts]));
                return FakeModel.Vectors(texts);
            });

        var a = batcher.EmbedAsync(first, ["t1"], CancellationToken.None);
        var b = batcher.EmbedAsync(second, ["t2"], CancellationToken.None);
        var c = batcher.EmbedAsync(first, ["t3"], CancellationToken.None);
        time.Advance(Window);
        await Task.WhenAll(a, b, c).WaitAsync(Deadline);

        Assert.That(calls.Where(call => call.Model == first).Select(call => call.Texts), Is.EqualTo(new[] { new[] { "t1", "t3" } }));
        Assert.That(calls.Where(call => call.Model == second).Select(call => call.Texts), Is.EqualTo(new[] { new[] { "t2" } }));
        Assert.That(Ids(await b), Is.EqualTo(new[] { 2 }));
    }

    [Test]
    public async Task EmbedAsync_WhileABatchRuns_TheNextCollectsAndStartsOnlyAfterIt()
    {
        var model = new FakeModel { Held = true };
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time);

        var first = batcher.EmbedAsync(model, ["t1"], CancellationToken.None);
        time.Advance(Window);
        await model.Started.WaitAsync(Deadline);

        var second = batcher.EmbedAsync(model, ["t2"], CancellationToken.None);
        var third = batcher.EmbedAsync(model, ["t3"], CancellationToken.None);
        time.Advance(Window);
        Assert.That(model.Calls, Has.Count.EqualTo(1), "the next batch waits for the running one");
        Assert.That(batcher.WaitingTexts(model), Is.EqualTo(2));

        model.Release();
        Assert.That(Ids(await first.WaitAsync(Deadline)), Is.EqualTo(new[] { 1 }));
        await model.Started.WaitAsync(Deadline);
        model.Release();
        Assert.That(Ids(await second.WaitAsync(Deadline)), Is.EqualTo(new[] { 2 }));
        Assert.That(Ids(await third.WaitAsync(Deadline)), Is.EqualTo(new[] { 3 }));
        Assert.That(model.Calls.Last(), Is.EqualTo(new[] { "t2", "t3" }));
        Assert.That(model.MostAtOnce, Is.EqualTo(1));
    }

    [Test]
    public async Task EmbedAsync_RequestLargerThanTheLimit_RunsAloneAndWhole()
    {
        var model = new FakeModel();
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time, maxBatchTexts: 4);

        var small = batcher.EmbedAsync(model, ["t0"], CancellationToken.None);
        var large = batcher.EmbedAsync(model, [.. Enumerable.Range(1, 6).Select(i => $"t{i}")], CancellationToken.None);
        var after = batcher.EmbedAsync(model, ["t7"], CancellationToken.None);
        await Task.WhenAll(small, large, after).WaitAsync(Deadline); // the limit closed the window: no clock needed

        Assert.That(model.Calls.Select(c => c.Length), Is.EqualTo(new[] { 1, 6, 1 }));
        Assert.That(Ids(await large), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
    }

    [Test]
    public async Task EmbedAsync_CallerCancelledWhileWaiting_IsCancelledAndLeavesTheBatch()
    {
        var model = new FakeModel();
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time);
        using var cancel = new CancellationTokenSource();

        var leaving = batcher.EmbedAsync(model, ["t1"], cancel.Token);
        var staying = batcher.EmbedAsync(model, ["t2"], CancellationToken.None);
        await cancel.CancelAsync();
        time.Advance(Window);

        Assert.That(async () => await leaving.WaitAsync(Deadline), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(Ids(await staying.WaitAsync(Deadline)), Is.EqualTo(new[] { 2 }));
        Assert.That(model.Calls.Single(), Is.EqualTo(new[] { "t2" }));
    }

    [Test]
    public async Task EmbedAsync_OnlyCallerCancelledWhileWaiting_TheModelIsNotCalled()
    {
        var model = new FakeModel();
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time);
        using var cancel = new CancellationTokenSource();

        var leaving = batcher.EmbedAsync(model, ["t1"], cancel.Token);
        await cancel.CancelAsync();
        time.Advance(Window);

        Assert.That(async () => await leaving.WaitAsync(Deadline), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(model.Calls, Is.Empty);
        Assert.That(batcher.WaitingTexts(model), Is.Zero);
    }

    [Test]
    public async Task EmbedAsync_CallerCancelledWhileItsBatchRuns_IsCancelledAtOnceAndTheOthersGetTheirVectors()
    {
        var model = new FakeModel { Held = true };
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time);
        using var cancel = new CancellationTokenSource();

        var leaving = batcher.EmbedAsync(model, ["t1"], cancel.Token);
        var staying = batcher.EmbedAsync(model, ["t2"], CancellationToken.None);
        time.Advance(Window);
        await model.Started.WaitAsync(Deadline);
        await cancel.CancelAsync();

        // The model is still held inside its call.
        Assert.That(async () => await leaving.WaitAsync(Deadline), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(staying.IsCompleted, Is.False);
        Assert.That(model.LastToken.IsCancellationRequested, Is.False, "the batch goes on for the caller that stayed");

        model.Release();
        Assert.That(Ids(await staying.WaitAsync(Deadline)), Is.EqualTo(new[] { 2 }));
    }

    [Test]
    public async Task EmbedAsync_EveryCallerOfARunningBatchCancelled_CancelsTheModelCall()
    {
        var model = new FakeModel { Held = true };
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time);
        using var cancelA = new CancellationTokenSource();
        using var cancelB = new CancellationTokenSource();

        var a = batcher.EmbedAsync(model, ["t1"], cancelA.Token);
        var b = batcher.EmbedAsync(model, ["t2"], cancelB.Token);
        time.Advance(Window);
        await model.Started.WaitAsync(Deadline);

        await cancelA.CancelAsync();
        Assert.That(model.LastToken.IsCancellationRequested, Is.False, "one caller still waits");
        await cancelB.CancelAsync();
        Assert.That(model.LastToken.IsCancellationRequested, Is.True);

        Assert.That(async () => await a.WaitAsync(Deadline), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await b.WaitAsync(Deadline), Throws.InstanceOf<OperationCanceledException>());

        // The held call returns on its token; the lane is free for the next batch.
        var next = batcher.EmbedAsync(model, ["t3"], CancellationToken.None);
        time.Advance(Window);
        await model.Started.WaitAsync(Deadline);
        model.Release();
        Assert.That(Ids(await next.WaitAsync(Deadline)), Is.EqualTo(new[] { 3 }));
    }

    [Test]
    public async Task EmbedAsync_ModelThrows_FailsEveryCallerOfThatBatchAndNoOther()
    {
        var model = new FakeModel();
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time);

        var a = batcher.EmbedAsync(model, ["t1"], CancellationToken.None);
        var b = batcher.EmbedAsync(model, ["boom"], CancellationToken.None);
        time.Advance(Window);
        var errorA = Assert.ThrowsAsync<InvalidOperationException>(async () => await a.WaitAsync(Deadline));
        var errorB = Assert.ThrowsAsync<InvalidOperationException>(async () => await b.WaitAsync(Deadline));
        Assert.That(errorA, Is.SameAs(errorB));
        Assert.That(errorA!.Message, Is.EqualTo("boom"));

        var c = batcher.EmbedAsync(model, ["t3"], CancellationToken.None);
        time.Advance(Window);
        Assert.That(Ids(await c.WaitAsync(Deadline)), Is.EqualTo(new[] { 3 }));
    }

    [Test]
    public async Task EmbedAsync_Disabled_CallsTheModelDirectlyForEachCaller()
    {
        var model = new FakeModel();
        await using var batcher = model.Batcher(new FakeTimeProvider(), enabled: false);

        var a = batcher.EmbedAsync(model, ["t1", "t2"], CancellationToken.None);
        var b = batcher.EmbedAsync(model, ["boom"], CancellationToken.None);

        Assert.That(Ids(await a.WaitAsync(Deadline)), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(async () => await b.WaitAsync(Deadline), Throws.InstanceOf<InvalidOperationException>());
        Assert.That(model.Calls, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Dispose_FailsWaitingCallers()
    {
        var model = new FakeModel();
        var batcher = model.Batcher(new FakeTimeProvider());

        var waiting = batcher.EmbedAsync(model, ["t1"], CancellationToken.None);
        await batcher.DisposeAsync();

        Assert.That(async () => await waiting.WaitAsync(Deadline), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => batcher.EmbedAsync(model, ["t2"], CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(model.Calls, Is.Empty);
    }

    private static int[] Ids(float[][] vectors) => [.. vectors.Select(v => (int)v[0])];

    /// <summary>
    /// Records its calls; fails on the text "boom"; when <see cref="Held"/>, each call waits inside
    /// until <see cref="Release"/> or until its token is cancelled.
    /// </summary>
    private sealed class FakeModel
    {
        private readonly SemaphoreSlim _release = new(0);
        private int _running;
        private int _mostAtOnce;

        public bool Held { get; init; }

        public ConcurrentQueue<string[]> Calls { get; } = new();

        public SemaphoreSlim Started { get; } = new(0);

        public CancellationToken LastToken { get; private set; }

        public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public static float[][] Vectors(IReadOnlyList<string> texts) =>
            [.. texts.Select(t => new[] { float.Parse(t[1..], CultureInfo.InvariantCulture) })];

        public void Release() => _release.Release();

        public MicroBatcher<FakeModel> Batcher(TimeProvider time, int maxBatchTexts = 32, bool enabled = true) => new(
            new BatchingOptions { Enabled = enabled, WindowMs = 5, MaxBatchTexts = maxBatchTexts },
            time,
            NullLogger.Instance,
            (_, texts, token) => Run(texts, token));

        private float[][] Run(IReadOnlyList<string> texts, CancellationToken token)
        {
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _mostAtOnce, running);
            try
            {
                Calls.Enqueue([.. texts]);
                LastToken = token;
                Started.Release();
                if (Held)
                {
                    _release.Wait(token);
                }

                return texts.Contains("boom") ? throw new InvalidOperationException("boom") : Vectors(texts);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        private static void InterlockedMax(ref int location, int value)
        {
            int current;
            while ((current = Volatile.Read(ref location)) < value && Interlocked.CompareExchange(ref location, value, current) != current)
            {
            }
        }
    }
}
