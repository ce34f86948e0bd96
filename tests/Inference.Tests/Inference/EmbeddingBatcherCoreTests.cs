using System.Collections.Concurrent;
using System.Globalization;
using InferenceGateway.Inference.Batching;
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
            _ => 1,
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
    public async Task EmbedAsync_Disabled_CallsTheModelOnceForEachCaller()
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

    [Test]
    public async Task EmbedAsync_NoWindowAndAFreeRun_StartsAtOnceWithoutTheClock()
    {
        var model = new FakeModel();
        var time = new FakeTimeProvider(); // never advanced
        await using var batcher = model.Batcher(time, runs: 2, windowMs: 0);

        Assert.That(Ids(await batcher.EmbedAsync(model, ["t1"], CancellationToken.None).WaitAsync(Deadline)), Is.EqualTo(new[] { 1 }));
        Assert.That(Ids(await batcher.EmbedAsync(model, ["t2", "t3"], CancellationToken.None).WaitAsync(Deadline)), Is.EqualTo(new[] { 2, 3 }));
        Assert.That(model.Calls, Is.EqualTo(new[] { new[] { "t1" }, ["t2", "t3"] }));
    }

    [Test]
    public async Task EmbedAsync_TwoRuns_TwoBatchesRunAtOnceAndTheNextCollectsUntilOneEnds()
    {
        var model = new FakeModel { Held = true };
        var time = new FakeTimeProvider(); // never advanced: no window, no timer
        await using var batcher = model.Batcher(time, runs: 2, windowMs: 0);

        var first = batcher.EmbedAsync(model, ["t1"], CancellationToken.None);
        var second = batcher.EmbedAsync(model, ["t2"], CancellationToken.None);
        await model.Started.WaitAsync(Deadline);
        await model.Started.WaitAsync(Deadline);
        Task<float[][]>[] waiting = [.. Enumerable.Range(3, 4).Select(i => batcher.EmbedAsync(model, [$"t{i}"], CancellationToken.None))];

        Assert.That(model.Running, Is.EqualTo(2), "both runs busy at once");
        Assert.That(batcher.RunningBatches(model), Is.EqualTo(2));
        Assert.That(batcher.WaitingTexts(model), Is.EqualTo(4), "every run is busy: the next batch collects");
        Assert.That(model.Calls, Has.Count.EqualTo(2));

        // One run ends; its thread takes everything that collected, at once.
        model.Release();
        await model.Started.WaitAsync(Deadline);
        Assert.That(model.Calls.Last(), Is.EqualTo(new[] { "t3", "t4", "t5", "t6" }));
        Assert.That(batcher.WaitingTexts(model), Is.Zero);

        model.Release();
        model.Release();
        await Task.WhenAll([first, second, .. waiting]).WaitAsync(Deadline);
        Assert.That(Ids(await first), Is.EqualTo(new[] { 1 }));
        Assert.That(Ids(await second), Is.EqualTo(new[] { 2 }));
        Assert.That(waiting.Select(w => Ids(w.Result).Single()), Is.EqualTo(new[] { 3, 4, 5, 6 }));
        Assert.That(model.MostAtOnce, Is.EqualTo(2));
        Assert.That(batcher.Statistics, Is.EqualTo(new BatchingStatistics(Batches: 3, Requests: 6, Texts: 6)));
    }

    [Test]
    public async Task EmbedAsync_WindowClosesWithTwoRunsFree_TheWaitingCallersAreSharedBetweenThem()
    {
        var model = new FakeModel { Held = true };
        var time = new FakeTimeProvider();
        await using var batcher = model.Batcher(time, runs: 2);

        Task<float[][]>[] calls = [.. Enumerable.Range(1, 5).Select(i => batcher.EmbedAsync(model, [$"t{i}"], CancellationToken.None))];
        time.Advance(Window);
        await model.Started.WaitAsync(Deadline);
        await model.Started.WaitAsync(Deadline);

        // Five waiting, two runs free: three and two, at once, not five on one run while the other idles.
        Assert.That(model.Running, Is.EqualTo(2));
        Assert.That(model.Calls.OrderBy(c => c.Length), Is.EqualTo(new[] { new[] { "t4", "t5" }, ["t1", "t2", "t3"] }));
        model.Release();
        model.Release();
        await Task.WhenAll(calls).WaitAsync(Deadline);
        Assert.That(calls.Select(c => Ids(c.Result).Single()), Is.EqualTo(Enumerable.Range(1, 5)));
    }

    [Test]
    public async Task EmbedAsync_LimitReachedWithTwoRunsFree_BothStartWithoutTheClockAndNoRequestIsSplit()
    {
        var model = new FakeModel { Held = true };
        await using var batcher = model.Batcher(new FakeTimeProvider(), maxBatchTexts: 4, runs: 2);

        var three = batcher.EmbedAsync(model, ["t1", "t2", "t3"], CancellationToken.None);
        var one = batcher.EmbedAsync(model, ["t4"], CancellationToken.None);
        await model.Started.WaitAsync(Deadline);
        await model.Started.WaitAsync(Deadline);

        // Four texts reached the limit: the window closed. A share is two texts, but a request is never split.
        Assert.That(model.Calls, Is.EquivalentTo(new[] { new[] { "t1", "t2", "t3" }, ["t4"] }));
        model.Release();
        model.Release();
        Assert.That(Ids(await three.WaitAsync(Deadline)), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(Ids(await one.WaitAsync(Deadline)), Is.EqualTo(new[] { 4 }));
    }

    [Test]
    public async Task EmbedAsync_ManyCallersAndThreeRuns_NeverRunMoreThanThreeBatchesAtOnce()
    {
        var model = new FakeModel { Held = true };
        await using var batcher = model.Batcher(new FakeTimeProvider(), maxBatchTexts: 2, runs: 3, windowMs: 0);

        Task<float[][]>[] calls = [.. Enumerable.Range(1, 20).Select(i => batcher.EmbedAsync(model, [$"t{i}"], CancellationToken.None))];
        var all = Task.WhenAll(calls);
        for (var i = 0; i < 3; i++)
        {
            await model.Started.WaitAsync(Deadline);
        }

        Assert.That(model.Running, Is.EqualTo(3));
        Assert.That(batcher.WaitingTexts(model), Is.EqualTo(17));

        // The three go; from then on, one run is let go for each run that starts, until every caller has its vector.
        model.Release();
        model.Release();
        model.Release();
        while (true)
        {
            var started = model.Started.WaitAsync(Deadline);
            if (await Task.WhenAny(started, all) == all)
            {
                break;
            }

            Assert.That(await started, Is.True, "a run started");
            Assert.That(batcher.RunningBatches(model), Is.LessThanOrEqualTo(3));
            model.Release();
        }

        await all.WaitAsync(Deadline);
        Assert.That(model.MostAtOnce, Is.EqualTo(3));
        Assert.That(model.Calls.Select(c => c.Length), Is.All.LessThanOrEqualTo(2));
        Assert.That(calls.Select(c => Ids(c.Result).Single()), Is.EqualTo(Enumerable.Range(1, 20)));
        // Batches are runs of consecutive callers (first come, first served), each text in exactly one.
        Assert.That(
            model.Calls.OrderBy(c => int.Parse(c[0][1..], CultureInfo.InvariantCulture)).SelectMany(c => c),
            Is.EqualTo(Enumerable.Range(1, 20).Select(i => $"t{i}")));
    }

    [Test]
    public async Task EmbedAsync_ModelThrowsInOneRun_FailsOnlyThatBatchWhileTheOtherRunSucceeds()
    {
        var model = new FakeModel { Held = true };
        await using var batcher = model.Batcher(new FakeTimeProvider(), runs: 2, windowMs: 0);

        var failing = batcher.EmbedAsync(model, ["boom"], CancellationToken.None);
        var fine = batcher.EmbedAsync(model, ["t2"], CancellationToken.None);
        await model.Started.WaitAsync(Deadline);
        await model.Started.WaitAsync(Deadline);
        model.Release();
        model.Release();

        Assert.That(async () => await failing.WaitAsync(Deadline), Throws.InstanceOf<InvalidOperationException>());
        Assert.That(Ids(await fine.WaitAsync(Deadline)), Is.EqualTo(new[] { 2 }));
    }

    [Test]
    public async Task EmbedAsync_RunsTheModelOnDedicatedThreadsNamedOnnxRun()
    {
        var model = new FakeModel { Held = true };
        await using var batcher = model.Batcher(new FakeTimeProvider(), runs: 2, windowMs: 0);

        var a = batcher.EmbedAsync(model, ["t1"], CancellationToken.None);
        var b = batcher.EmbedAsync(model, ["t2"], CancellationToken.None);
        await model.Started.WaitAsync(Deadline);
        await model.Started.WaitAsync(Deadline);
        model.Release();
        model.Release();
        await Task.WhenAll(a, b).WaitAsync(Deadline);

        Assert.That(model.Threads.Select(t => t.Name), Is.EquivalentTo(new[] { "onnx-run-0", "onnx-run-1" }));
        Assert.That(model.Threads.Select(t => t.Pool), Is.All.False, "not on the thread pool");
        if (OperatingSystem.IsLinux())
        {
            // What the load benchmark reads (/proc/<pid>/task/<tid>/stat): the OS thread's own name.
            Assert.That(model.Threads.Select(t => t.OsName), Is.EquivalentTo(new[] { "onnx-run-0", "onnx-run-1" }));
        }
    }

    [Test]
    public async Task EmbedAsync_Disabled_RunsEachCallerAloneOnTheRunThreadsUnderTheSameCap()
    {
        var model = new FakeModel { Held = true };
        await using var batcher = model.Batcher(new FakeTimeProvider(), enabled: false, runs: 2);

        var a = batcher.EmbedAsync(model, ["t1", "t2"], CancellationToken.None);
        var b = batcher.EmbedAsync(model, ["t3"], CancellationToken.None);
        await model.Started.WaitAsync(Deadline);
        await model.Started.WaitAsync(Deadline);
        var c = batcher.EmbedAsync(model, ["t4"], CancellationToken.None);
        var d = batcher.EmbedAsync(model, ["t5"], CancellationToken.None);
        Assert.That(batcher.WaitingTexts(model), Is.EqualTo(2), "both runs busy: the others wait");

        model.Release();
        model.Release();
        model.Release();
        model.Release();
        await Task.WhenAll(a, b, c, d).WaitAsync(Deadline);

        Assert.That(model.Calls, Is.EquivalentTo(new[] { new[] { "t1", "t2" }, ["t3"], ["t4"], ["t5"] }), "one caller a run");
        Assert.That(model.MostAtOnce, Is.EqualTo(2));
        Assert.That(model.Threads.Select(t => t.Name), Is.All.StartsWith("onnx-run-"));
        Assert.That(batcher.Statistics, Is.EqualTo(new BatchingStatistics(Batches: 4, Requests: 4, Texts: 5)));
    }

    [Test]
    public async Task DisposeAsync_WaitsForTheRunningBatchesAndFailsTheWaitingCallers()
    {
        var model = new FakeModel { Held = true };
        var batcher = model.Batcher(new FakeTimeProvider(), runs: 2, windowMs: 0);

        var a = batcher.EmbedAsync(model, ["t1"], CancellationToken.None);
        var b = batcher.EmbedAsync(model, ["t2"], CancellationToken.None);
        await model.Started.WaitAsync(Deadline);
        await model.Started.WaitAsync(Deadline);
        var waiting = batcher.EmbedAsync(model, ["t3"], CancellationToken.None);
        var disposing = batcher.DisposeAsync().AsTask();

        Assert.That(async () => await waiting.WaitAsync(Deadline), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(disposing.IsCompleted, Is.False, "two batches still run");
        model.Release();
        model.Release();
        await disposing.WaitAsync(Deadline);
        Assert.That(Ids(await a.WaitAsync(Deadline)), Is.EqualTo(new[] { 1 }));
        Assert.That(Ids(await b.WaitAsync(Deadline)), Is.EqualTo(new[] { 2 }));
        Assert.That(model.Calls, Has.Count.EqualTo(2));
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

        /// <summary>The thread of each call: its managed name, whether it is a pool thread, and its OS name (Linux).</summary>
        public ConcurrentQueue<(string? Name, bool Pool, string? OsName)> Threads { get; } = new();

        public int Running => Volatile.Read(ref _running);

        public SemaphoreSlim Started { get; } = new(0);

        public CancellationToken LastToken { get; private set; }

        public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public static float[][] Vectors(IReadOnlyList<string> texts) =>
            [.. texts.Select(t => new[] { float.Parse(t[1..], CultureInfo.InvariantCulture) })];

        public void Release() => _release.Release();

        public MicroBatcher<FakeModel> Batcher(TimeProvider time, int maxBatchTexts = 32, bool enabled = true, int runs = 1, int windowMs = 5) => new(
            new BatchingOptions { Enabled = enabled, WindowMs = windowMs, MaxBatchTexts = maxBatchTexts },
            time,
            NullLogger.Instance,
            _ => runs,
            (_, texts, token) => Run(texts, token));

        private float[][] Run(IReadOnlyList<string> texts, CancellationToken token)
        {
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _mostAtOnce, running);
            try
            {
                Calls.Enqueue([.. texts]);
                var thread = Thread.CurrentThread;
                Threads.Enqueue((thread.Name, thread.IsThreadPoolThread, OperatingSystem.IsLinux() ? File.ReadAllText("/proc/thread-self/comm").Trim() : null));
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
