using System.Diagnostics;
using System.Runtime.CompilerServices;
using InferenceGateway.Inference.Onnx;

namespace InferenceGateway.Inference.Batching;

/// <summary>
/// The batching core behind <see cref="EmbeddingBatcher"/>, generic over the model and given the
/// model call as a function, so its merging, concurrency, cancellation and failure rules are
/// testable with a fake.
/// </summary>
/// <remarks>
/// One lane per model instance (by reference; a lane goes when its model is collected), with up to
/// <c>concurrentRuns(model)</c> run slots: that many batches of the model run at once, each on a
/// dedicated thread of the lane named <c>onnx-run-N</c> (N the slot), never on a pool thread or a
/// caller's thread, so the pool stays free for the callers' continuations and the model's CPU time
/// is attributable (<see cref="OnnxThreads"/>).
/// A batch starts as soon as a slot is free and its window has closed. The first request into an
/// empty lane opens a window of <see cref="BatchingOptions.WindowMs"/> on the injected
/// <see cref="TimeProvider"/> (with 0, the window is closed at once: a lone request is not
/// delayed); the window closes when it elapses or when <see cref="BatchingOptions.MaxBatchTexts"/>
/// texts wait. Requests that arrive while every slot is busy collect into the next batch, which
/// starts when a slot frees. A batch takes waiting requests first-come first-served while their
/// texts fit the limit and an even share of the waiting texts over the free slots (32 waiting
/// with two slots free run as two batches of 16 at once, not one of 32 with a slot idle); a
/// request is never split: one larger than the limit runs as a batch of its own.
/// Requests left behind by the limit go in the next batch without a new window. With
/// <see cref="BatchingOptions.Enabled"/> off, every request is a batch of its own, started as soon
/// as a slot is free, on the same threads under the same cap. A run thread that finds nothing to do
/// waits for the next batch and ends after <see cref="RunnerIdle"/> without one.
/// </remarks>
internal sealed class MicroBatcher<TModel>(
    BatchingOptions options,
    TimeProvider timeProvider,
    ILogger logger,
    Func<TModel, int> concurrentRuns,
    Func<TModel, IReadOnlyList<string>, CancellationToken, float[][]> run) : IDisposable, IAsyncDisposable
    where TModel : class
{
    /// <summary>How long a run thread with nothing to do waits for a batch before it ends.</summary>
    internal static readonly TimeSpan RunnerIdle = TimeSpan.FromSeconds(60);

    private readonly Func<TModel, IReadOnlyList<string>, CancellationToken, float[][]> _run = run;
    private readonly Func<TModel, int> _concurrentRuns = concurrentRuns;
    private readonly TimeProvider _timeProvider = timeProvider;
    private readonly ILogger _logger = logger;
    private readonly bool _enabled = options.Enabled;
    private readonly TimeSpan _window = options.Enabled ? TimeSpan.FromMilliseconds(options.WindowMs) : TimeSpan.Zero;
    private readonly int _maxBatchTexts = options.MaxBatchTexts;
    private readonly ConditionalWeakTable<TModel, Lane> _lanes = new();
    private long _batches;
    private long _requests;
    private long _texts;
    private volatile bool _disposed;

    private enum RequestState
    {
        New,
        Waiting,
        Running,
        Done,
    }

    private enum RunnerState
    {
        /// <summary>No thread: the next batch for this slot starts one.</summary>
        Off,

        /// <summary>Its thread runs a batch (or has one handed to it).</summary>
        Busy,

        /// <summary>Its thread waits for a batch.</summary>
        Idle,
    }

    /// <summary>Counters since construction.</summary>
    public BatchingStatistics Statistics => new(
        Interlocked.Read(ref _batches),
        Interlocked.Read(ref _requests),
        Interlocked.Read(ref _texts));

    /// <summary>Embeds <paramref name="texts"/>, in a batch with other callers' texts for the same model.</summary>
    public Task<float[][]> EmbedAsync(TModel model, IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<float[][]>(cancellationToken);
        }

        if (texts.Count == 0)
        {
            return Task.FromResult(Array.Empty<float[]>());
        }

        var lane = _lanes.GetValue(model, m => new Lane(this, m));
        var request = new Request([.. texts], cancellationToken); // a copy: the batch is built later
        // May run at once (the token was cancelled since the check above): Cancel handles a New request.
        request.Registration = cancellationToken.Register(() => lane.Cancel(request));
        lane.Enqueue(request);
        return request.Completion.Task;
    }

    /// <summary>Texts now waiting for <paramref name="model"/>'s next batch (not the running ones).</summary>
    internal int WaitingTexts(TModel model) => _lanes.TryGetValue(model, out var lane) ? lane.WaitingTexts : 0;

    /// <summary>Batches of <paramref name="model"/> running now.</summary>
    internal int RunningBatches(TModel model) => _lanes.TryGetValue(model, out var lane) ? lane.RunningBatches : 0;

    /// <summary>Fails every waiting request with <see cref="ObjectDisposedException"/>; running batches finish.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (var (_, lane) in _lanes)
        {
            lane.Shutdown();
        }
    }

    /// <summary>As <see cref="Dispose"/>, then waits for the running batches to end.</summary>
    public async ValueTask DisposeAsync()
    {
        Dispose();
        await Task.WhenAll(_lanes.Select(pair => pair.Value.Drained()));
    }

    private void Count(int requests, int texts)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _requests, requests);
        Interlocked.Add(ref _texts, texts);
    }

    private sealed class Request(string[] texts, CancellationToken token)
    {
        public string[] Texts { get; } = texts;

        public CancellationToken Token { get; } = token;

        public TaskCompletionSource<float[][]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }

        /// <summary>Guarded by the lane's lock.</summary>
        public RequestState State { get; set; }

        /// <summary>The batch it runs in, once dispatched.</summary>
        public Batch? Batch { get; set; }
    }

    private sealed class Batch(Request[] requests, int texts)
    {
        public Request[] Requests { get; } = requests;

        /// <summary>The requests' texts in order (a lone request's own array).</summary>
        public string[] Texts { get; } = requests.Length == 1 ? requests[0].Texts : Concat(requests, texts);

        /// <summary>Cancelled when every caller in the batch has cancelled: the model run is abandoned.</summary>
        public CancellationTokenSource Abandon { get; } = new();

        /// <summary>Completed when the batch has ended and its callers have their outcome.</summary>
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Callers still waiting for the result; guarded by the lane's lock.</summary>
        public int Live { get; set; } = requests.Length;

        /// <summary>The model call has returned; guarded by the lane's lock.</summary>
        public bool Finished { get; set; }

        private static string[] Concat(Request[] requests, int texts)
        {
            var all = new string[texts];
            var offset = 0;
            foreach (var request in requests)
            {
                request.Texts.CopyTo(all, offset);
                offset += request.Texts.Length;
            }

            return all;
        }
    }

    /// <summary>One run slot of a lane and the dedicated thread that serves it while there is work.</summary>
    private sealed class Runner(int index)
    {
        public int Index { get; } = index;

        /// <summary>Released when a batch is handed over (<see cref="Next"/>) or the lane shuts down.</summary>
        public SemaphoreSlim Signal { get; } = new(0);

        /// <summary>Guarded by the lane's lock.</summary>
        public RunnerState State { get; set; }

        /// <summary>A batch handed to the idle thread; guarded by the lane's lock.</summary>
        public Batch? Next { get; set; }
    }

    private sealed class Lane
    {
        private readonly MicroBatcher<TModel> _owner;
        private readonly TModel _model;
        private readonly Lock _gate = new();
        private readonly List<Request> _waiting = [];
        private readonly HashSet<Batch> _running = [];
        private readonly Runner[] _runners;
        private int _waitingTexts;
        private ITimer? _timer;
        private long _windowGeneration;
        private bool _windowClosed;
        private bool _shutdown;

        public Lane(MicroBatcher<TModel> owner, TModel model)
        {
            _owner = owner;
            _model = model;
            _runners = [.. Enumerable.Range(0, Math.Max(1, owner._concurrentRuns(model))).Select(i => new Runner(i))];
        }

        public int WaitingTexts
        {
            get
            {
                lock (_gate)
                {
                    return _waitingTexts;
                }
            }
        }

        public int RunningBatches
        {
            get
            {
                lock (_gate)
                {
                    return _running.Count;
                }
            }
        }

        /// <summary>Ends when the batches running now have ended.</summary>
        public Task Drained()
        {
            lock (_gate)
            {
                return Task.WhenAll(_running.Select(b => b.Done.Task));
            }
        }

        public void Enqueue(Request request)
        {
            lock (_gate)
            {
                if (request.State != RequestState.New)
                {
                    return; // cancelled before it joined
                }

                if (_owner._disposed || _shutdown)
                {
                    request.State = RequestState.Done;
                    request.Completion.TrySetException(new ObjectDisposedException(_owner.GetType().Name));
                    return;
                }

                request.State = RequestState.Waiting;
                _waiting.Add(request);
                _waitingTexts += request.Texts.Length;
                if (_waiting.Count == 1)
                {
                    OpenWindowLocked();
                }

                if (_waitingTexts >= _owner._maxBatchTexts)
                {
                    _windowClosed = true;
                }

                DispatchLocked(self: null);
            }
        }

        public void Cancel(Request request)
        {
            Batch? abandoned = null;
            lock (_gate)
            {
                switch (request.State)
                {
                    case RequestState.New:
                        break;
                    case RequestState.Waiting:
                        _waiting.Remove(request);
                        _waitingTexts -= request.Texts.Length;
                        if (_waiting.Count == 0)
                        {
                            CloseWindowLocked();
                        }

                        break;
                    case RequestState.Running:
                        var batch = request.Batch!;
                        batch.Live--;
                        if (batch.Live == 0 && !batch.Finished)
                        {
                            abandoned = batch;
                        }

                        break;
                    default:
                        return; // already completed
                }

                request.State = RequestState.Done;
            }

            request.Completion.TrySetCanceled(request.Token);
            // Outside the lock: this runs the model's own registration (RunOptions.Terminate).
            abandoned?.Abandon.Cancel();
        }

        public void Shutdown()
        {
            Request[] dropped;
            lock (_gate)
            {
                _shutdown = true;
                dropped = [.. _waiting];
                _waiting.Clear();
                _waitingTexts = 0;
                CloseWindowLocked();
                foreach (var request in dropped)
                {
                    request.State = RequestState.Done;
                }

                foreach (var runner in _runners)
                {
                    if (runner.State == RunnerState.Idle)
                    {
                        runner.Signal.Release(); // ends the thread
                    }
                }
            }

            foreach (var request in dropped)
            {
                request.Registration.Dispose();
                request.Completion.TrySetException(new ObjectDisposedException(_owner.GetType().Name));
            }
        }

        private void OpenWindowLocked()
        {
            if (_owner._window <= TimeSpan.Zero)
            {
                _windowClosed = true;
                return;
            }

            _windowClosed = false;
            var generation = ++_windowGeneration;
            _timer?.Dispose();
            _timer = _owner._timeProvider.CreateTimer(_ => OnWindowElapsed(generation), null, _owner._window, Timeout.InfiniteTimeSpan);
        }

        private void CloseWindowLocked()
        {
            _windowGeneration++;
            _windowClosed = false;
            _timer?.Dispose();
            _timer = null;
        }

        private void OnWindowElapsed(long generation)
        {
            lock (_gate)
            {
                if (generation != _windowGeneration)
                {
                    return; // a window since closed by its batch or its last caller's cancellation
                }

                _windowClosed = true;
                DispatchLocked(self: null);
            }
        }

        /// <summary>
        /// Starts batches while a slot is free and the window has closed; the first goes to
        /// <paramref name="self"/> (a run thread that has just finished one) and is returned, the
        /// others to idle run threads or new ones.
        /// </summary>
        private Batch? DispatchLocked(Runner? self)
        {
            Batch? own = null;
            while (_running.Count < _runners.Length && _windowClosed && _waiting.Count > 0)
            {
                var batch = TakeLocked(_runners.Length - _running.Count);
                _running.Add(batch);
                if (self is not null && own is null)
                {
                    own = batch;
                }
                else
                {
                    StartLocked(batch);
                }
            }

            return own;
        }

        /// <summary>
        /// The next batch off the head of the queue: FIFO, whole requests, at most the limit unless
        /// one request is larger, and no more than an even share of the waiting texts over the
        /// <paramref name="freeRuns"/> runs free now (the first request always goes), so the
        /// waiting callers run in parallel instead of one run taking them all while another idles.
        /// </summary>
        private Batch TakeLocked(int freeRuns)
        {
            var share = Math.Min(_owner._maxBatchTexts, (_waitingTexts + freeRuns - 1) / freeRuns);
            var take = 1;
            var texts = _waiting[0].Texts.Length;
            while (_owner._enabled && take < _waiting.Count && texts + _waiting[take].Texts.Length <= share)
            {
                texts += _waiting[take].Texts.Length;
                take++;
            }

            var requests = _waiting.GetRange(0, take).ToArray();
            _waiting.RemoveRange(0, take);
            _waitingTexts -= texts;
            if (_waiting.Count == 0)
            {
                CloseWindowLocked();
            }

            // Requests left behind by the limit have waited out their window: they go next, at once.
            var batch = new Batch(requests, texts);
            foreach (var request in requests)
            {
                request.State = RequestState.Running;
                request.Batch = batch;
            }

            return batch;
        }

        /// <summary>Hands <paramref name="batch"/> to an idle run thread, or starts one on a slot that has none.</summary>
        private void StartLocked(Batch batch)
        {
            foreach (var runner in _runners)
            {
                if (runner.State == RunnerState.Idle)
                {
                    runner.State = RunnerState.Busy;
                    runner.Next = batch;
                    runner.Signal.Release();
                    return;
                }
            }

            foreach (var runner in _runners)
            {
                if (runner.State == RunnerState.Off)
                {
                    runner.State = RunnerState.Busy;
                    new Thread(() => Serve(runner, batch))
                    {
                        Name = OnnxThreads.Run(runner.Index),
                        IsBackground = true,
                    }.Start();
                    return;
                }
            }

            throw new UnreachableException("A batch was dispatched with every run slot busy.");
        }

        /// <summary>A run thread: runs its batch, then the next one while there is one, then waits for work.</summary>
        private void Serve(Runner runner, Batch first)
        {
            for (Batch? batch = first; batch is not null;)
            {
                batch = Execute(batch, runner) ?? WaitForWork(runner);
            }
        }

        /// <summary>The batch handed to <paramref name="runner"/>, or null when it has waited <see cref="RunnerIdle"/> or the lane shut down (its thread then ends).</summary>
        private Batch? WaitForWork(Runner runner)
        {
            var signalled = true;
            while (true)
            {
                lock (_gate)
                {
                    if (runner.Next is { } batch)
                    {
                        runner.Next = null;
                        return batch;
                    }

                    if (!signalled || _shutdown)
                    {
                        runner.State = RunnerState.Off;
                        return null;
                    }
                }

                signalled = runner.Signal.Wait(RunnerIdle);
            }
        }

        /// <summary>Runs <paramref name="batch"/>, gives its callers their outcome, and returns the next batch for this thread, if one is ready.</summary>
        private Batch? Execute(Batch batch, Runner runner)
        {
            float[][]? vectors = null;
            Exception? error = null;
            var started = _owner._timeProvider.GetTimestamp();
            try
            {
                batch.Abandon.Token.ThrowIfCancellationRequested();
                _owner.Count(batch.Requests.Length, batch.Texts.Length);
                vectors = _owner._run(_model, batch.Texts, batch.Abandon.Token);
                if (vectors.Length != batch.Texts.Length)
                {
                    throw new InvalidOperationException($"The model returned {vectors.Length} vectors for {batch.Texts.Length} texts.");
                }
            }
            catch (Exception e)
            {
                error = e;
            }

            var elapsedMs = _owner._timeProvider.GetElapsedTime(started).TotalMilliseconds;
            Batch? next;
            lock (_gate)
            {
                batch.Finished = true;
                foreach (var request in batch.Requests)
                {
                    if (request.State == RequestState.Running)
                    {
                        request.State = RequestState.Done;
                    }
                }

                _running.Remove(batch);
                next = DispatchLocked(runner);
                if (next is null)
                {
                    runner.State = RunnerState.Idle;
                }
            }

            if (error is null)
            {
                BatchingLog.BatchEmbedded(_owner._logger, batch.Texts.Length, batch.Requests.Length, elapsedMs);
            }
            else if (!batch.Abandon.IsCancellationRequested)
            {
                BatchingLog.BatchFailed(_owner._logger, error, batch.Texts.Length, batch.Requests.Length);
            }

            var offset = 0;
            foreach (var request in batch.Requests)
            {
                // Waits for a cancellation callback running now, so Abandon is not cancelled after its disposal.
                request.Registration.Dispose();
                if (error is not null)
                {
                    request.Completion.TrySetException(error);
                }
                else
                {
                    request.Completion.TrySetResult(batch.Requests.Length == 1 ? vectors! : vectors.AsSpan(offset, request.Texts.Length).ToArray());
                }

                offset += request.Texts.Length;
            }

            batch.Abandon.Dispose();
            batch.Done.TrySetResult();
            return next;
        }
    }
}
